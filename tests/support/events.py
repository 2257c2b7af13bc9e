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


def stamped(message, company_id: str, at: int, actor_id: str = "test"):
    """`message` with the metadata a producing service gives it: a new event id, its type, `at` (Unix
    seconds), the company and the actor."""
    from google.protobuf.timestamp_pb2 import Timestamp

    meta = message.metadata
    meta.event_id = str(uuid.uuid4())
    meta.event_type = message.DESCRIPTOR.full_name
    meta.occurred_at.CopyFrom(Timestamp(seconds=at))
    meta.company_id = company_id
    meta.actor_id = actor_id
    return message


def publish(producer, topic: str, key: str, message) -> None:
    """Send a stamped event as our relays do (key, event_id and event_type headers) and wait for the ack."""
    headers = [("event_id", message.metadata.event_id.encode()), ("event_type", message.metadata.event_type.encode())]
    producer.send(topic, key=key.encode(), value=message.SerializeToString(), headers=headers).get(timeout=10)
