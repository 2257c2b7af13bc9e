"""Read events from the real broker the way a consumer would."""

from __future__ import annotations

import time
import uuid

from kafka import KafkaConsumer


def collect(bootstrap: str, topic: str, message_cls, predicate, timeout: float = 30):
    """Consume `topic` from the start in a fresh group until an event of `message_cls` matches."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex[:8]}",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    wanted = message_cls.DESCRIPTOR.full_name
    found = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    headers = dict(r.headers or ())
                    if headers.get("event_type", b"").decode() != wanted:
                        continue
                    msg = message_cls.FromString(r.value)
                    if predicate(msg):
                        found.append((r, msg))
            if found:
                return found
        raise TimeoutError(f"no matching {wanted} on {topic} within {timeout}s")
    finally:
        consumer.close()
