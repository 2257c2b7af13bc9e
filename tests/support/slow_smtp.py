"""A real SMTP server that takes its time: each message is held `--delay` seconds before it is accepted,
then stored as the mail catcher stores it (DIR/<time>-<id>.eml). The fault suite puts it in the mail
catcher's place so that a mailer is still in the middle of a batch when its database goes away.

    python tests/support/slow_smtp.py --port 1025 --dir var/mail --delay 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools"))
from mailcatcher import StoreHandler, serve  # noqa: E402


class SlowStore(StoreHandler):
    def __init__(self, folder: pathlib.Path, delay: float):
        super().__init__(folder)
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    serve(SlowStore(pathlib.Path(args.dir), args.delay), args.port,
          f"slow smtp: smtp://127.0.0.1:{args.port} -> {args.dir}/*.eml, {args.delay}s a message")


if __name__ == "__main__":
    main()
