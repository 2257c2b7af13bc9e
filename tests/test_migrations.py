"""Every service's migrations make the schema its models declare, on SQLite and PostgreSQL.

Alembic's compare_metadata finds missing tables, columns, indexes and constraints, but not a key
whose columns come in another order; that order decides which lookups an index serves (a unique
key leads with its selective column so that `column = ANY(...)` is an index condition even on a
table without statistics). So each primary key, unique constraint and index is compared with its
columns in order too, and a partial index with its predicate (compare_metadata ignores it; the
outbox relay's poll is only cheap on the partial index).
"""

from __future__ import annotations

import contextlib
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Index, MetaData, UniqueConstraint, inspect

from crm_platform.db import Database
from tests.support.infra import ROOT, postgres_available, postgres_database

SERVICES = sorted(p.parent.parent.name for p in ROOT.glob("services/*/migrations/env.py"))
KINDS = ["sqlite", "postgresql"] if postgres_available() else ["sqlite"]


@contextlib.contextmanager
def _database(kind: str, folder):
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'migrated.db'}"
    else:
        with postgres_database("crm_migrations") as url:
            yield url


def _predicate(options: dict) -> str:
    """A partial index's predicate as comparable text ('' for a full index): declared indexes carry it per
    dialect, reflected ones as '<dialect>_where' (PostgreSQL's in parentheses)."""
    for dialect in ("postgresql", "sqlite"):
        clause = options[dialect].get("where") if dialect in options else options.get(f"{dialect}_where")
        if clause is not None:
            return str(clause).strip("()").lower()
    return ""


def _for(ix, dialect: str) -> bool:
    """Whether index `ix` exists on `dialect` (an index declared `.ddl_if(dialect=...)` is one dialect's)."""
    only = getattr(ix, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect)


def _declared(metadata: MetaData, dialect: str) -> dict:
    out = {}
    for name, table in metadata.tables.items():
        out[name] = {
            "primary key": tuple(c.name for c in table.primary_key.columns),
            "unique": {str(c.name): tuple(col.name for col in c.columns)
                       for c in table.constraints if isinstance(c, UniqueConstraint)},
            "indexes": {str(ix.name): (tuple(col.name for col in ix.columns), bool(ix.unique), _predicate(
                ix.dialect_options))
                        for ix in table.indexes if isinstance(ix, Index) and _for(ix, dialect)},
        }
    return out


def _migrated(conn, tables) -> dict:
    insp = inspect(conn)
    out = {}
    for name in tables:
        out[name] = {
            "primary key": tuple(insp.get_pk_constraint(name)["constrained_columns"]),
            "unique": {u["name"]: tuple(u["column_names"]) for u in insp.get_unique_constraints(name)},
            # PostgreSQL also lists the index behind each unique constraint
            "indexes": {ix["name"]: (tuple(ix["column_names"]), bool(ix["unique"]), _predicate(
                ix["dialect_options"]))
                        for ix in insp.get_indexes(name) if not ix.get("duplicates_constraint")},
        }
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("service", SERVICES)
def test_migrations_make_the_declared_schema(service, kind, tmp_path):
    metadata = importlib.import_module(f"crm_{service}.adapters.orm").Base.metadata
    with _database(kind, tmp_path) as url:
        db = Database(url)
        try:
            db.migrate(ROOT / "services" / service / "migrations")
            with db.engine.connect() as conn:
                only_here = {"include_object": lambda obj, name, type_, reflected, compare_to:
                             type_ != "index" or reflected or _for(obj, kind)}
                assert compare_metadata(MigrationContext.configure(conn, opts=only_here), metadata) == []
                migrated = _migrated(conn, metadata.tables)
        finally:
            db.dispose()
    declared = _declared(metadata, kind)
    for name in metadata.tables:
        assert migrated[name] == declared[name], name
