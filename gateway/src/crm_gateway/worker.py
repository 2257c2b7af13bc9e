"""gunicorn's threaded worker, stopping without stranding connections during a rolling restart.

With `reuse_port` a new gateway listens beside the old one and the kernel spreads new connections
over both sockets. gunicorn's worker stops accepting on SIGTERM but keeps its listening socket open
until it exits, so connections the kernel queues on it meanwhile wait, unanswered, for the graceful
timeout. This worker, on SIGTERM, accepts what is already queued, serves it, and closes its
listening sockets at once, so every later connection goes to the new gateway.
"""

from __future__ import annotations

import errno

from gunicorn.workers.gthread import TConn
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker


class ThreadWorker(_ThreadWorker):
    """gthread worker that hands its listening sockets over on SIGTERM."""

    def handle_exit(self, sig, frame):
        if self.alive:
            self.method_queue.defer(self._drain_and_close_listeners)
        super().handle_exit(sig, frame)

    def _drain_and_close_listeners(self) -> None:
        for listener in self.sockets:
            if self._accepting:
                self.poller.unregister(listener)
            while True:
                try:
                    client, address = listener.accept()
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED):
                        self.log.warning("draining listener: %s", exc)
                    break
                self.nr_conns += 1
                client.setblocking(True)
                self.enqueue_req(TConn(self.cfg, client, address, listener.getsockname()))
            listener.close()
        self._accepting = False
