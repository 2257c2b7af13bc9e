"""The fault suite's history checker: what the tests were told was done, against what happened.

A test records each **acknowledged write** (an HTTP 2xx answer and what it created or changed) with
`History.ack`, and each write whose answer was not 2xx (a 503, a timeout, a connection cut by a kill)
with `History.unsure`: that one may or may not have happened, but at most once. After the fault it
reads back the **effects** (tasks automation made, billing's seat count, records' deals and stage
names, mails, ...) and the **events** (read back from the broker, or from a service's outbox, per key
in log order) and checks them with `check` and `check_events`:

- **none lost**: every expected item is there;
- **none duplicated**: nothing is there more often than expected (an unsure write's item at most once);
  an event id seen twice on the broker must be an exact redelivery (same bytes), which consumers skip;
  a second *effect* of one event (a second task, a second stage change) is a duplicate;
- **none reordered per key**: a key's items come in the order they were acknowledged.

Items are compared per key as sequences of values (multisets for "lost"/"duplicated", then order).
Every check prints one line (`HISTORY ...`, shown with `pytest -s`) with its counts.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Callable, Hashable, Iterable


@dataclasses.dataclass
class Problems:
    """What one check found, per key."""

    name: str
    keys: int = 0
    items: int = 0
    lost: dict = dataclasses.field(default_factory=dict)
    duplicated: dict = dataclasses.field(default_factory=dict)
    reordered: dict = dataclasses.field(default_factory=dict)
    unexpected: dict = dataclasses.field(default_factory=dict)
    redelivered: int = 0
    unsure_seen: int = 0

    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.unexpected)

    def line(self) -> str:
        return (f"HISTORY {self.name}: {self.keys} keys, {self.items} items; lost {len(self.lost)} keys, duplicated "
                f"{len(self.duplicated)}, reordered {len(self.reordered)}, unexpected {len(self.unexpected)}; "
                f"{self.redelivered} exact redeliveries, {self.unsure_seen} unsure writes found done")

    def explain(self, limit: int = 5) -> str:
        parts = [self.line()]
        for label, found in (("lost", self.lost), ("duplicated", self.duplicated), ("reordered", self.reordered),
                             ("unexpected", self.unexpected)):
            for key, detail in list(found.items())[:limit]:
                parts.append(f"  {label} {key}: {detail}")
        return "\n".join(parts)


def compare(name: str, expected: dict[Hashable, list], observed: dict[Hashable, list],
            optional: dict[Hashable, list] | None = None, *, ordered: bool = True,
            strict_keys: bool = True) -> Problems:
    """Compare per key. `optional` items (of unsure writes) may be observed, at most as often as listed;
    `strict_keys`: an observed key with nothing expected (nor optional) is `unexpected`."""
    optional = optional or {}
    p = Problems(name)
    keys = set(expected) | (set(observed) if strict_keys else set(observed) & set(expected))
    for key in keys:
        want, got, maybe = list(expected.get(key, [])), list(observed.get(key, [])), list(optional.get(key, []))
        p.keys += 1
        p.items += len(got)
        if key not in expected and not maybe:
            p.unexpected[key] = got
            continue
        counts_got, counts_want = collections.Counter(got), collections.Counter(want)
        counts_maybe = collections.Counter(maybe)
        lost = counts_want - counts_got
        extra = counts_got - counts_want
        allowed = extra & counts_maybe
        p.unsure_seen += sum(allowed.values())
        extra -= allowed
        if lost:
            p.lost[key] = dict(lost)
        if extra:
            p.duplicated[key] = dict(extra)
        if ordered and not lost and not extra:
            stripped = _without(got, allowed)
            if stripped != want:
                p.reordered[key] = {"expected": want, "observed": got}
    return p


def _without(items: list, remove: collections.Counter) -> list:
    remove = collections.Counter(remove)
    out = []
    for item in items:
        if remove[item] > 0:
            remove[item] -= 1
            continue
        out.append(item)
    return out


@dataclasses.dataclass
class Event:
    """One record of a topic: the key's events in log order come from `read_topic`/`read_outbox`."""

    key: str
    event_id: str
    event_type: str
    raw: bytes
    message: object = None
    partition: int = -1
    offset: int = -1


class History:
    """The acknowledged writes of a test (thread-safe: load runs on several threads) and its checks."""

    def __init__(self, name: str = ""):
        self.name = name
        self._lock = threading.Lock()
        self.writes: dict[str, dict[Hashable, list]] = collections.defaultdict(lambda: collections.defaultdict(list))
        self.unsure_writes: dict[str, dict[Hashable, list]] = collections.defaultdict(
            lambda: collections.defaultdict(list))
        self.results: list[Problems] = []

    def ack(self, kind: str, key: Hashable, value=None) -> None:
        """An acknowledged write of `kind` on `key` (in acknowledgement order per key)."""
        with self._lock:
            self.writes[kind][key].append(key if value is None else value)

    def unsure(self, kind: str, key: Hashable, value=None) -> None:
        """A write not acknowledged (503, timeout, cut off): it may have happened, at most once."""
        with self._lock:
            self.unsure_writes[kind][key].append(key if value is None else value)

    def acked(self, kind: str) -> dict[Hashable, list]:
        with self._lock:
            return {k: list(v) for k, v in self.writes[kind].items()}

    def maybe(self, kind: str) -> dict[Hashable, list]:
        with self._lock:
            return {k: list(v) for k, v in self.unsure_writes[kind].items()}

    def count(self, kind: str) -> int:
        return sum(len(v) for v in self.acked(kind).values())

    def check(self, name: str, expected: dict, observed: dict, optional: dict | None = None, **kw) -> Problems:
        """`compare`, printed, kept, and asserted."""
        p = compare(name, expected, observed, optional, **kw)
        self.results.append(p)
        print(p.line(), flush=True)
        assert p.ok(), p.explain()
        return p

    def check_events(self, name: str, events: dict[str, list[Event]], expected: dict,
                     project: Callable[[Event], object], optional: dict | None = None, **kw) -> Problems:
        """Events per key as read back: a repeated event id must carry the same bytes (an exact
        redelivery, counted); the first copies, projected, must be `expected` (lost / duplicated /
        reordered). A second event with another id for one change is a duplicate."""
        firsts: dict[str, list] = {}
        redelivered, mismatched = 0, {}
        for key, items in events.items():
            seen: dict[str, bytes] = {}
            for e in items:
                if e.event_id in seen:
                    redelivered += 1
                    if seen[e.event_id] != e.raw:
                        mismatched.setdefault(key, []).append(e.event_id)
                    continue
                seen[e.event_id] = e.raw
                firsts.setdefault(key, []).append(project(e))
        p = compare(name, expected, firsts, optional, **kw)
        p.redelivered = redelivered
        if mismatched:
            p.unexpected.update({k: f"event ids repeated with other bytes: {v}" for k, v in mismatched.items()})
        self.results.append(p)
        print(p.line(), flush=True)
        assert p.ok(), p.explain()
        return p


def read_topic(bootstrap: str, topics: Iterable[str], decoders: dict[str, type] | None = None,
               timeout: float = 90) -> dict[str, list[Event]]:
    """Every record of `topics` from the start, per key in log order (one key is one partition), until
    every partition's end offset is reached; `decoders` (event type -> message class) decode them."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             receive_message_max_bytes=64 * 1024 * 1024)
    try:
        tps = []
        deadline = time.monotonic() + timeout
        for topic in topics:
            parts = None
            while not parts and time.monotonic() < deadline:
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    time.sleep(0.5)
            tps += [TopicPartition(topic, p) for p in parts or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        by_key: dict[str, list[Event]] = collections.defaultdict(list)
        while time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    headers = {k: (v or b"").decode(errors="replace") for k, v in (r.headers or ())}
                    etype = headers.get("event_type", "")
                    cls = (decoders or {}).get(etype)
                    msg = cls.FromString(r.value) if cls is not None else None
                    by_key[(r.key or b"").decode()].append(Event((r.key or b"").decode(), headers.get("event_id", ""),
                                                                 etype, r.value, msg, r.partition, r.offset))
            if all(consumer.position(tp) >= ends[tp] for tp in tps):
                break
        else:
            raise TimeoutError(f"did not read {topics} to their end within {timeout}s")
        return dict(by_key)
    finally:
        consumer.close()


def read_outbox(url: str, topics: Iterable[str], decoders: dict[str, type] | None = None,
                table: str = "outbox") -> dict[str, list[Event]]:
    """A service's outbox rows of `topics`, per key in id order (the order the relay publishes them)."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text(f"SELECT aggregate_id, event_id, event_type, payload FROM {table} "
                         "WHERE topic IN :topics ORDER BY id").bindparams(bindparam("topics", expanding=True))
            rows = conn.execute(query, {"topics": list(topics)}).all()
    finally:
        engine.dispose()
    by_key: dict[str, list[Event]] = collections.defaultdict(list)
    for key, event_id, etype, payload in rows:
        cls = (decoders or {}).get(etype)
        by_key[key].append(Event(key, event_id, etype, bytes(payload), cls.FromString(payload) if cls else None))
    return dict(by_key)


def one_each(keys: Iterable[Hashable], value=None) -> dict[Hashable, list]:
    """An expectation of one item per key (`value`, or the key itself)."""
    return {k: [k if value is None else value] for k in keys}
