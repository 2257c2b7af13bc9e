"""A consumer's group membership with kafka-python 2.3 and Tansu: kept while a poll's records take
long (an outage waited out), and left only when leaving cannot strand the group."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.coordinator.base import MemberState

log = logging.getLogger(__name__)

# While a poll's records are being handled for longer than this (an outage waited out), the poll
# thread pauses its partitions and polls every so often: max_poll_interval_ms (30 s) never runs out,
# so the member keeps its partitions, and nothing new is fetched.
KEEPALIVE_S = 1.0


def while_keeping_membership(consumer: KafkaConsumer, future: Future, name: str):
    """Wait for `future` (the handling of a poll's records, on another thread) and return its result;
    while it runs longer than KEEPALIVE_S, pause the assigned partitions and poll now and then.

    kafka-python 2.3 leaves the group when poll() is not called for max_poll_interval_ms (its
    heartbeat thread sends LeaveGroup; on Tansu a member leaving mid-rebalance can strand the group,
    see `close`). A paused partition returns nothing, and its position stays after the batch. Should
    a poll still return records (partitions a rebalance inside it assigned), the consumer seeks back
    to them: they come again after the resume. A rebalance revokes every partition (eager protocol):
    `Revocations` notes them, the consumer stops their unfinished events and commits nothing of
    them; the new owner starts from the committed offsets and skips what was applied here."""
    paused = False
    try:
        while True:
            try:
                return future.result(timeout=KEEPALIVE_S)
            except FutureTimeout:
                pass
            try:
                consumer.pause(*consumer.assignment())
                paused = True
                for tp, records in consumer.poll(timeout_ms=0).items():
                    if records:
                        consumer.seek(tp, records[0].offset)
            except Exception as exc:  # noqa: BLE001 - the handling goes on; the commit will tell
                log.warning("consumer %s: keep-alive poll failed: %s", name, exc)
    finally:
        if paused:
            try:
                consumer.resume(*consumer.paused())
            except Exception:  # noqa: BLE001 - a closed consumer
                pass


class Revocations(ConsumerRebalanceListener):
    """Note the partitions a rebalance takes away (kafka-python calls this inside poll())."""

    def __init__(self, revoked: set):
        self.revoked = revoked

    def on_partitions_revoked(self, revoked) -> None:
        self.revoked.update(revoked)

    def on_partitions_assigned(self, assigned) -> None:
        pass


def close(consumer: KafkaConsumer) -> None:
    """Close a group consumer, sending LeaveGroup only when leaving cannot strand the group.

    Tansu 0.6 (the broker of `make run` and the tests) keeps a member that leaves while the group
    is forming (between JoinGroup and the leader's SyncGroup) as the group's leader, although it is
    no longer a member. Every consumer that joins later is then a follower waiting for that
    leader's assignment and gets REBALANCE_IN_PROGRESS from SyncGroup, forever: a restarted
    automation never got its partitions. A process stopped during its own join (Tansu holds a
    JoinGroup for half the session timeout) or right after another replica joined does exactly
    that. A member that goes silent instead is dropped after the session timeout, and its
    leadership with it (measured: the next consumer has its partitions ~18 s after it starts).
    So leave (the fast hand-over) only when a heartbeat sent now, after the heartbeat thread has
    stopped, confirms a stable membership of the current generation; otherwise close silently.
    """
    try:
        leave = _membership_confirmed(consumer)
    except Exception:  # noqa: BLE001 - when in doubt, do not leave
        leave = False
    try:
        if not leave:
            consumer._coordinator.reset_generation()  # no member id: close() sends no LeaveGroup
        consumer.close(autocommit=False)
    except Exception:  # noqa: BLE001
        pass


def _membership_confirmed(consumer: KafkaConsumer, timeout_ms: int = 2000) -> bool:
    """Whether the coordinator answers a heartbeat now: stable member of the current generation.

    Uses kafka-python 2.3's coordinator (pinned in requirements.txt). A group that is re-forming
    answers REBALANCE_IN_PROGRESS (or an unknown member / illegal generation error).
    """
    coordinator = consumer._coordinator
    coordinator._close_heartbeat_thread()  # ours is the last heartbeat before the LeaveGroup
    with coordinator._client._lock, coordinator._lock:
        if (coordinator.state is not MemberState.STABLE or coordinator.need_rejoin()
                or coordinator.coordinator_unknown()):
            return False
        future = coordinator._send_heartbeat_request()
    coordinator._client.poll(future=future, timeout_ms=timeout_ms)
    return future.succeeded()
