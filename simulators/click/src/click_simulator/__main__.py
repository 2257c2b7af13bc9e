"""Run the simulator: `python -m click_simulator` on $CLICK_SIMULATOR_HOST (127.0.0.1) : $CLICK_SIMULATOR_PORT (8090)."""

import logging
import os
import signal
import sys

from werkzeug.serving import make_server

from click_simulator.app import Settings, create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s click-simulator %(message)s")
    settings = Settings.from_env()
    host = os.environ.get("CLICK_SIMULATOR_HOST", "127.0.0.1")  # 0.0.0.0 inside a container
    server = make_server(host, settings.port, create_app(settings), threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.info("CLICK simulator on http://%s:%d (callbacks to %s)", host, settings.port, settings.callback_base)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
