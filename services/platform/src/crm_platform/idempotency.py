"""Idempotency keys: a retried write with the same key and body gets the first answer, not a second change.

One mechanism for every service, in the service's own `idempotency_keys` table:

- The gateway forwards the client's `Idempotency-Key` (or one it makes for its own retries) as gRPC
  metadata. The server's interceptor turns it into a pending `CallKey` bound to the caller: the
  company and the user of the verified token, the method and a hash of the request.
- The first write unit of work of the call (`crm_platform.uow`) looks the key up *inside its
  transaction*, after the use case checked the caller's rights (they run before the unit opens):
  unknown, it claims the key in the same transaction as the work, so the key exists exactly when the
  work does (a rolled-back attempt leaves no key, and a concurrent duplicate waits for the first and
  then finds it); known with another request hash, `idempotency_key_reused` (422); known and
  answered, the stored answer is replayed and nothing is done again.
- The answer: a use case that can name it in the transaction does (`UnitOfWork.answer`: records'
  creates store the id of what they made, and rebuild the response from it on a replay); otherwise
  the interceptor stores the serialized response when the call returns. A key claimed but not yet
  answered is `idempotency_in_progress` (409).
- `purge` deletes keys older than the retention window (the outbox relay runs it).

Batches (records' `CreateTasks`: each task has its own key) use `stored_answers` and `remember`.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import hashlib
from dataclasses import dataclass

from google.protobuf import descriptor_pool, message_factory
from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_platform.db import Database, bulk_insert, in_chunks, utcnow
from crm_platform.errors import Conflict, InvalidArgument

METADATA_KEY = "idempotency-key"
RETENTION = _dt.timedelta(days=1)
KEY_MAX, OPERATION_MAX = 200, 100
RESPONSE = b"\x01"  # prefix: the call's serialized response, stored by the interceptor
ANSWER = b"\x02"  # prefix: the use case's own answer, stored in the work's transaction
# an empty stored value: claimed, not answered yet


class Replay(BaseException):
    """The call was done before: answer with `response` (serialized) instead of doing it again.

    A BaseException, so no use case's `except Exception` mistakes it for a failure of its own."""

    def __init__(self, response: bytes):
        super().__init__("replay")
        self.response = response


def reused() -> InvalidArgument:
    return InvalidArgument("idempotency_key_reused", "This Idempotency-Key was used with another request")


def in_progress() -> Conflict:
    return Conflict("idempotency_in_progress", "A request with this Idempotency-Key is still running")


def request_hash(method: str, request) -> str:
    """Hash the method and the deterministic serialization of the request."""
    return hashlib.sha256(method.encode() + b"\0" + request.SerializeToString(deterministic=True)).hexdigest()


def response_class(method: str):
    """The protobuf class of a method's response, from its full gRPC path."""
    service, _, name = method.lstrip("/").rpartition("/")
    desc = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
    return message_factory.GetMessageClass(desc.output_type)


@dataclass
class CallKey:
    """The idempotency key of the call being served, bound to its caller."""

    company_id: str
    user_id: str
    operation: str
    key: str
    digest: str
    claimed: bool = False  # a unit of work committed its claim
    answered: bool = False  # the use case stored its own answer

    def where(self, t: Table):
        return (t.c.key == self.key[:KEY_MAX], t.c.operation == self.operation[:OPERATION_MAX],
                t.c.company_id == self.company_id, t.c.user_id == self.user_id)


pending_call: contextvars.ContextVar[CallKey | None] = contextvars.ContextVar("idempotent_call", default=None)


class IdempotencyStore:
    """The `idempotency_keys` table of one service."""

    def __init__(self, db: Database, table: Table):
        self.db = db
        self.table = table

    # ---- inside a unit of work ---------------------------------------------------------------
    def claim(self, s: Session, call: CallKey) -> bytes | None:
        """In the work's transaction: None after claiming the key; the use case's stored answer when the
        call was done before and answered by it. Raises Replay (a stored response), `reused`, `in_progress`."""
        t = self.table
        insert = (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(t)
        claimed = s.execute(insert.values(
            company_id=call.company_id, user_id=call.user_id, key=call.key[:KEY_MAX],
            operation=call.operation[:OPERATION_MAX], request_hash=call.digest, response=b"", created_at=utcnow(),
        ).on_conflict_do_nothing().returning(t.c.id)).first()
        if claimed is not None:  # a concurrent duplicate's insert waits for this transaction, then finds the key
            return None
        row = s.execute(select(t.c.request_hash, t.c.response).where(*call.where(t))).one()
        if row.request_hash != call.digest:
            raise reused()
        if row.response.startswith(RESPONSE):
            raise Replay(row.response[1:])
        if row.response.startswith(ANSWER):
            return row.response[1:]
        raise in_progress()

    def answer(self, s: Session, call: CallKey, value: bytes) -> None:
        """In the work's transaction: store the use case's answer under the claimed key."""
        s.execute(update(self.table).where(*call.where(self.table)).values(response=ANSWER + value))

    def stored_answers(self, s: Session, company_id: str, user_id: str, operation: str,
                       keys: list[str]) -> dict[str, tuple[str, bytes]]:
        """A batch's keys already used: key -> (request hash, the use case's answer)."""
        t = self.table
        return {r.key: (r.request_hash, r.response[1:]) for rows in in_chunks(s, lambda one_of: select(
            t.c.key, t.c.request_hash, t.c.response).where(
            one_of(t.c.key), t.c.operation == operation, t.c.company_id == company_id, t.c.user_id == user_id),
            keys) for r in rows}

    def remember(self, s: Session, company_id: str, user_id: str, operation: str,
                 answers: list[tuple[str, str, bytes]]) -> None:
        """A batch's new keys with their answers, (key, request hash, answer) each, in one statement."""
        now = utcnow()
        bulk_insert(s, self.table, [{"company_id": company_id, "user_id": user_id, "key": key, "operation": operation,
                                     "request_hash": digest, "response": ANSWER + value, "created_at": now}
                                    for key, digest, value in answers])

    # ---- around the call (the interceptor) ----------------------------------------------------
    def complete(self, call: CallKey, response: bytes) -> None:
        """Store the call's response under a key its unit of work claimed and the use case left unanswered."""
        t = self.table
        with self.db.session(write=True) as s:
            s.execute(update(t).where(*call.where(t), t.c.response == b"").values(response=RESPONSE + response))

    def purge(self, retention: _dt.timedelta = RETENTION) -> int:
        """Delete keys older than the retention window: a retry after it is a new request."""
        with self.db.session(write=True) as s:
            return s.execute(delete(self.table).where(self.table.c.created_at < utcnow() - retention)).rowcount
