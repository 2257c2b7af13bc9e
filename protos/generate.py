"""Generate the Python package `crm` (messages, gRPC stubs, .pyi) from every .proto here.

Usage: python protos/generate.py [OUT_DIR]   (default: protos/gen/python)
The tests call it into a temporary folder and fail when the committed code differs.
"""

import pathlib
import sys

from grpc_tools import protoc
import grpc_tools

HERE = pathlib.Path(__file__).resolve().parent


def generate(out_dir: pathlib.Path) -> None:
    """Run protoc over all protos and make every output folder a package."""
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(HERE)) for p in (HERE / "crm").rglob("*.proto"))
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for folder in [out_dir / "crm", *(p for p in (out_dir / "crm").rglob("*") if p.is_dir())]:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "gen" / "python")
