"""Failpoints: named places where the reliability suite makes a process die, as `kill -9` would.

Off unless the environment names them: `CRM_FAILPOINTS=consumer.after_db_commit`. Each armed
failpoint ends the process abruptly (no cleanup, no offset commit) the first time it is reached, so a
test can stop a consumer exactly between its database commit and its offset commit.
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
