"""Tenant scoping and sessions on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_platform.db import Database, TenantMismatch, TenantScoped


class Base(DeclarativeBase):
    pass


class Note(TenantScoped, Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    text: Mapped[str] = mapped_column(String(100))


@pytest.fixture(scope="module")
def db(database_url):
    d = Database(database_url)
    Base.metadata.create_all(d.write_engine)
    yield d
    Base.metadata.drop_all(d.write_engine)
    d.dispose()


def test_a_company_session_sees_and_changes_only_its_rows(db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    with db.session(company_id=a, write=True) as s:
        s.add(Note(text="a1"))
    with db.session(company_id=b, write=True) as s:
        s.add(Note(text="b1"))
        b_id = s.execute(select(Note.id)).scalar_one()
    with db.session(company_id=a) as s:
        assert [n.text for n in s.execute(select(Note)).scalars()] == ["a1"]
        assert s.get(Note, b_id) is None or s.execute(select(Note).where(Note.id == b_id)).first() is None
    with db.session(company_id=a, write=True) as s:
        assert s.execute(update(Note).where(Note.id == b_id).values(text="hacked")).rowcount == 0
    with db.session(company_id=b) as s:
        assert s.execute(select(Note.text).where(Note.id == b_id)).scalar_one() == "b1"


def test_new_rows_are_stamped_and_foreign_rows_refused(db):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    with db.session(company_id=a, write=True) as s:
        n = Note(text="x")
        s.add(n)
        s.flush()
        assert n.company_id == a
    with pytest.raises(TenantMismatch), db.session(company_id=a, write=True) as s:
        s.add(Note(text="y", company_id=b))
    with db.session(company_id=b) as s:
        assert s.execute(select(Note)).first() is None


def test_rollback_on_error_keeps_nothing(db):
    cid = str(uuid.uuid4())
    with pytest.raises(RuntimeError), db.session(company_id=cid, write=True) as s:
        s.add(Note(text="lost"))
        s.flush()
        raise RuntimeError("boom")
    with db.session(company_id=cid) as s:
        assert s.execute(select(Note)).first() is None


def test_overlapped_statements_run_in_order_and_their_error_rolls_the_transaction_back(db):
    """`Overlapped` runs statements while the caller computes (on PostgreSQL in a worker thread): they run in
    the order queued, in the session's transaction; an error of one is raised on leaving the block."""
    from sqlalchemy.exc import DBAPIError

    from crm_platform.db import Overlapped

    cid = str(uuid.uuid4())
    with db.session(company_id=cid, write=True) as s:
        s.add(Note(id="n1", text="a"))
        s.flush()
        with Overlapped(s) as overlapped:
            overlapped.run(lambda: s.execute(update(Note).where(Note.id == "n1").values(text="b")))
            overlapped.run(lambda: s.execute(update(Note).where(Note.id == "n1").values(text=Note.text + "c")))
            computed = sum(range(1000))  # the caller's own work meanwhile
        assert computed == 499500
        assert s.execute(select(Note.text)).scalar_one() == "bc"
    with pytest.raises(DBAPIError), db.session(company_id=cid, write=True) as s:
        with Overlapped(s) as overlapped:
            overlapped.run(lambda: s.execute(update(Note).where(Note.id == "n1").values(text="d")))
            overlapped.run(lambda: s.execute(update(Note).where(Note.id == "n1").values(text=Note.id / 0)))
    with db.session(company_id=cid) as s:
        assert s.execute(select(Note.text)).scalar_one() == "bc"


def test_retry_deadlocks_runs_the_work_again_only_after_a_deadlock():
    from sqlalchemy.exc import OperationalError

    from crm_platform.db import retry_deadlocks

    def failing(sqlstate: str, times: int):
        calls = []

        class DriverError(Exception):
            pass

        DriverError.sqlstate = sqlstate

        def work():
            calls.append(1)
            if len(calls) <= times:
                raise OperationalError("UPDATE deals ...", {}, DriverError())
            return "done"
        return work, calls

    work, calls = failing("40P01", 2)  # deadlock_detected twice, then it goes through
    assert retry_deadlocks(work) == "done" and len(calls) == 3
    work, calls = failing("40P01", 3)  # still deadlocked on the last attempt: the error is the caller's
    with pytest.raises(OperationalError):
        retry_deadlocks(work)
    assert len(calls) == 3
    work, calls = failing("57P01", 1)  # any other failure (here: the server shut down) is not run again
    with pytest.raises(OperationalError):
        retry_deadlocks(work)
    assert len(calls) == 1
