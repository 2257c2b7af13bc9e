"""Idempotency keys: a retried create with the same key and body gets the first answer, not a second record.

The gateway forwards the client's `Idempotency-Key` header as gRPC metadata. The server claims the
key in the service's own `idempotency_keys` table before the handler runs (the unique constraint
makes concurrent duplicates lose), stores the serialized answer after it succeeds, and frees the
key if the handler fails, so a failed attempt can be retried with the same key.
"""

from __future__ import annotations

import hashlib

from google.protobuf import descriptor_pool, message_factory
from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError

from crm_platform.db import Database, utcnow
from crm_platform.errors import Conflict, InvalidArgument

METADATA_KEY = "idempotency-key"
_DONE = b"\x01"  # prefix of a stored answer; an empty value means "in progress"


def request_hash(method: str, request) -> str:
    """Hash the method and the deterministic serialization of the request."""
    return hashlib.sha256(method.encode() + b"\0" + request.SerializeToString(deterministic=True)).hexdigest()


def response_class(method: str):
    """The protobuf class of a method's response, from its full gRPC path."""
    service, _, name = method.lstrip("/").rpartition("/")
    desc = descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]
    return message_factory.GetMessageClass(desc.output_type)


class IdempotencyStore:
    """Claim, complete or release idempotency keys in one service's database."""

    def __init__(self, db: Database, table: Table):
        self.db = db
        self.table = table

    def claim(self, company_id: str, method: str, key: str, digest: str):
        """Return the stored answer (bytes) of a completed call, or None after claiming the key."""
        t = self.table
        try:
            with self.db.session(write=True) as s:
                s.execute(t.insert().values(company_id=company_id, key=key[:200], operation=method[:100],
                                            request_hash=digest, response=b"", created_at=utcnow()))
            return None
        except IntegrityError:
            pass
        with self.db.session() as s:
            row = s.execute(select(t.c.request_hash, t.c.response).where(
                t.c.company_id == company_id, t.c.operation == method[:100], t.c.key == key[:200])).one_or_none()
        if row is None:  # released meanwhile: try once more
            return self.claim(company_id, method, key, digest)
        if row.request_hash != digest:
            raise InvalidArgument("idempotency_key_reused", "This Idempotency-Key was used with another request")
        if not row.response.startswith(_DONE):
            raise Conflict("idempotency_in_progress", "A request with this Idempotency-Key is still running")
        return row.response[1:]

    def complete(self, company_id: str, method: str, key: str, payload: bytes) -> None:
        t = self.table
        with self.db.session(write=True) as s:
            s.execute(update(t).where(t.c.company_id == company_id, t.c.operation == method[:100],
                                      t.c.key == key[:200]).values(response=_DONE + payload))

    def release(self, company_id: str, method: str, key: str) -> None:
        t = self.table
        with self.db.session(write=True) as s:
            s.execute(delete(t).where(t.c.company_id == company_id, t.c.operation == method[:100],
                                      t.c.key == key[:200]))
