"""Failpoints: named places where the reliability suite makes a process die, as `kill -9` would.

Off unless the environment names them: `CRM_FAILPOINTS=consumer.after_db_commit`. Each armed
failpoint ends the process abruptly (no cleanup, no offset commit) the first time it is reached, so a
test can stop a consumer exactly between its database commit and its offset commit.
`kill_thread` ends only the thread that reaches it (a bug escaping a worker loop): the process goes
on without it, and its liveness (`crm_platform.health`) must say so.
"""

from __future__ import annotations

import logging
import os
import sys

ARMED = frozenset(filter(None, os.environ.get("CRM_FAILPOINTS", "").split(",")))


def reach(name: str) -> None:
    """Die here if the failpoint `name` is armed."""
    if name in ARMED:
        logging.getLogger(__name__).error("failpoint %s reached: exiting abruptly", name)
        sys.stdout.flush()
        os._exit(137)


class ThreadKilled(BaseException):
    """Raised by `kill_thread`: not an Exception, so no loop's own error handling catches it."""


def kill_thread(name: str) -> None:
    """End the calling thread here if the failpoint `name` is armed (the process goes on)."""
    if name in ARMED:
        logging.getLogger(__name__).error("failpoint %s reached: ending this thread", name)
        raise ThreadKilled(name)
