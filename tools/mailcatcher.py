"""A real SMTP server for development: every message it accepts is stored as an .eml file."""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import pathlib
import signal
import uuid

from aiosmtpd.controller import Controller


class StoreHandler:
    """Write each accepted message to DIR/<time>-<id>.eml."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / (name + ".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.folder / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def serve(handler, port: int, banner: str) -> None:
    """Serve SMTP with `handler` on 127.0.0.1:`port` until SIGTERM or SIGINT."""
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(banner, flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args()
    serve(StoreHandler(pathlib.Path(args.dir)), args.port, f"mail catcher: smtp://127.0.0.1:{args.port} -> {args.dir}/*.eml")


if __name__ == "__main__":
    main()
