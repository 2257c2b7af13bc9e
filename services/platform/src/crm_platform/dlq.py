"""Dead letters: the events a consumer parked, in its service's own `dead_letters` table, and the
`python -m crm_<service> dlq` command that lists them and redrives them.

A consumer parks an event only for a deterministic reason (`crm_platform.faults`): it cannot be
decoded, or it failed `max_attempts` times with an error that waiting does not cure. The row keeps
the message as the broker delivered it (key, value, headers), where it was (topic, partition,
offset), what it is (event id, type, company) and why it was parked. `dlq redrive` gives each pending
row back to the consumer that parked it (`IdempotentConsumer.redrive`: the same decode and `apply`
as a delivery, so an event that was applied meanwhile is skipped by `processed_events`); one that
is applied (or found applied) gets `redriven_at`, one that fails again stays pending with its new
reason.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import sys
from typing import Iterable, TextIO

from sqlalchemy import Table, select, update

from crm_platform.db import Database, rfc3339, utcnow
from crm_platform.tables import add_platform_tables, service_metadata

# The table as every service declares it (`add_platform_tables`); a service's own copy works the same.
DEAD_LETTERS = add_platform_tables(service_metadata())["dead_letters"]
REASON_LIMIT = 4000


@dataclasses.dataclass(frozen=True)
class Parked:
    """A parked message, shaped as the consumer reads a broker record."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def encode_headers(headers) -> list[list[str]]:
    """Kafka headers as JSON: [name, text] when the value is UTF-8, else [name, base64, "base64"]."""
    out = []
    for name, value in headers or ():
        value = value or b""
        try:
            out.append([name, value.decode("utf-8")])
        except UnicodeDecodeError:
            out.append([name, base64.b64encode(value).decode(), "base64"])
    return out


def decode_headers(stored) -> list[tuple[str, bytes]]:
    """The Kafka headers `encode_headers` stored."""
    return [(item[0], base64.b64decode(item[1]) if len(item) > 2 and item[2] == "base64" else item[1].encode())
            for item in stored or ()]


class DeadLetters:
    """The `dead_letters` rows of one service database."""

    def __init__(self, db: Database, table: Table | None = None):
        self.db = db
        self.table = DEAD_LETTERS if table is None else table

    def record(self, consumer: str, record, reason: str, message=None) -> int:
        """Keep a parked record with its reason (one row per event: parked again, its row is updated and
        pending again); return the row's id. Raises what the database raises (the caller waits it out)."""
        t = self.table
        meta = message.metadata if message is not None else None
        event_id = (meta.event_id or None) if meta is not None else None
        headers = encode_headers(record.headers)
        event_type = next((v for k, v, *_ in headers if k == "event_type"), None)
        values = {"consumer": consumer, "topic": record.topic, "partition": record.partition, "offset": record.offset,
                  "key": record.key, "value": record.value or b"", "headers": headers, "event_id": event_id,
                  "event_type": event_type or None, "company_id": (meta.company_id or None) if meta else None,
                  "reason": reason[:REASON_LIMIT], "created_at": utcnow(), "redriven_at": None}
        with self.db.session(write=True) as s:
            if event_id is not None:  # the same event parked before (redelivered, or a redrive's copy)
                same = s.execute(select(t.c.id).where(t.c.consumer == consumer, t.c.event_id == event_id)
                                 .order_by(t.c.redriven_at.is_not(None), t.c.id.desc()).limit(1)).scalar()
                if same is not None:
                    s.execute(update(t).where(t.c.id == same).values(reason=values["reason"], headers=headers,
                                                                    redriven_at=None))
                    return same
            at = s.execute(select(t.c.id, t.c.event_id, t.c.value, t.c.redriven_at).where(
                t.c.consumer == consumer, t.c.topic == record.topic, t.c.partition == record.partition,
                t.c.offset == record.offset)).first()
            if at is not None:
                if at.event_id == event_id and (event_id is not None or at.value == values["value"]):
                    s.execute(update(t).where(t.c.id == at.id).values(reason=values["reason"], redriven_at=None))
                    return at.id
                if at.redriven_at is not None:  # a finished row of another event: reuse the position's row
                    s.execute(update(t).where(t.c.id == at.id).values(**values))
                    return at.id
                # Another event is pending at this position: the broker lost its log since (Tansu keeps
                # none over a restart) and numbers anew. Keep that row whole, its offset marked as from
                # an earlier log (negative), and free the position (unique) for this one.
                s.execute(update(t).where(t.c.id == at.id).values(offset=-at.id))
            return s.execute(t.insert().values(**values)).inserted_primary_key[0]

    def rows(self, *, include_redriven: bool = False, ids: Iterable[int] | None = None) -> list:
        """Rows in id order: pending ones, or all; only `ids` when given."""
        t = self.table
        q = select(t).order_by(t.c.id)
        if not include_redriven:
            q = q.where(t.c.redriven_at.is_(None))
        if ids is not None:
            q = q.where(t.c.id.in_(list(ids)))
        with self.db.session() as s:
            return list(s.execute(q))

    def redriven(self, row_id: int) -> None:
        """The row's event is applied now."""
        with self.db.session(write=True) as s:
            s.execute(update(self.table).where(self.table.c.id == row_id).values(redriven_at=utcnow()))

    def failed_again(self, row_id: int, reason: str) -> None:
        """A redrive failed: the row stays pending with the new reason."""
        with self.db.session(write=True) as s:
            s.execute(update(self.table).where(self.table.c.id == row_id).values(reason=reason[:REASON_LIMIT]))


def parked(row) -> Parked:
    """A row's message as the consumer reads it."""
    return Parked(row.topic, row.partition, row.offset, row.key, row.value, decode_headers(row.headers))


def redrive(letters: DeadLetters, consumers: Iterable, ids: Iterable[int] | None = None) -> list[dict]:
    """Give pending rows (`ids`, or all) back to their consumers; return each one's outcome."""
    by_name = {c.name: c for c in consumers}
    wanted = None if ids is None else list(dict.fromkeys(ids))
    rows = letters.rows(include_redriven=wanted is not None, ids=wanted)
    results = []
    for missing in sorted(set(wanted or ()) - {r.id for r in rows}):
        results.append({"id": missing, "outcome": "not_found", "reason": "no dead letter with this id"})
    for row in rows:
        if row.redriven_at is not None:
            results.append({"id": row.id, "outcome": "already_redriven", "reason": ""})
            continue
        consumer = by_name.get(row.consumer)
        if consumer is None:
            outcome, reason = "failed", f"this service runs no consumer {row.consumer!r}"
        else:
            outcome, reason = consumer.redrive(parked(row))
        if outcome in ("applied", "duplicate"):
            letters.redriven(row.id)
        else:
            letters.failed_again(row.id, reason)
        results.append({"id": row.id, "outcome": outcome, "reason": reason})
    return sorted(results, key=lambda r: r["id"])


def parser(prog: str) -> argparse.ArgumentParser:
    """The `dlq` command's arguments."""
    p = argparse.ArgumentParser(prog=prog, description="List and redrive the events this service's consumers "
                                                       "parked (its dead_letters table).")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="the pending dead letters (with --all, the redriven ones too)")
    ls.add_argument("--all", action="store_true", help="include the redriven ones")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    rd = sub.add_parser("redrive", help="apply parked events again through their consumer")
    which = rd.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, action="append", dest="ids", metavar="ID", help="a row's id (repeatable)")
    which.add_argument("--all", action="store_true", help="every pending row")
    rd.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


COLUMNS = ("id", "consumer", "topic", "event_type", "company_id", "reason", "created_at")


def _listed(row, include_redriven: bool) -> dict:
    out = {c: getattr(row, c) for c in COLUMNS}
    out["created_at"] = rfc3339(row.created_at)
    out["reason"] = (row.reason or "").replace("\n", " ")
    if include_redriven:
        out["redriven_at"] = rfc3339(row.redriven_at)
    return out


def main(args: argparse.Namespace, letters: DeadLetters, consumers: Iterable, out: TextIO = sys.stdout) -> int:
    """Run a parsed `dlq` command; the exit status (1 when a redrive left a row pending)."""
    if args.command == "list":
        rows = [_listed(r, args.all) for r in letters.rows(include_redriven=args.all)]
        if args.json:
            for r in rows:
                print(json.dumps(r, default=str), file=out)
        else:
            columns = list(COLUMNS) + (["redriven_at"] if args.all else [])
            print("\t".join(columns), file=out)
            for r in rows:
                print("\t".join("" if r[c] is None else str(r[c]) for c in columns), file=out)
            print(f"{len(rows)} dead letter(s){'' if args.all else ' pending'}", file=out)
        return 0
    results = redrive(letters, consumers, None if args.all else args.ids)
    for r in results:
        print(json.dumps(r) if args.json else f"{r['id']}\t{r['outcome']}\t{r['reason']}".rstrip(), file=out)
    if not args.json:
        done = sum(r["outcome"] in ("applied", "duplicate") for r in results)
        print(f"{done} of {len(results)} redriven", file=out)
    return 0 if all(r["outcome"] in ("applied", "duplicate", "already_redriven") for r in results) else 1


__all__ = ["DEAD_LETTERS", "DeadLetters", "Parked", "decode_headers", "encode_headers", "main", "parser", "redrive"]
