"""Running processes over a real database (SQLite, PostgreSQL) with the real records process behind real gRPC:
the tasks a run makes (read back from records), what it stores and announces, and what each kind of failure
does (retry, park, final) when records refuses a task or cannot be reached."""

from __future__ import annotations

import collections
import re

import pytest
from sqlalchemy import select

from automation_support import RUN_ATTEMPTS, announced, definition, record_event
from crm_automation.adapters.clients import Records, RecordsUnavailable, TaskRefused
from crm_automation.adapters.orm import Company, ProcessRun
from crm_automation.service_layer import services
from crm_automation.service_layer.services import AutomationService, RunRefused
from crm_platform.auth import TokenSigner, read_key
from crm_platform.messaging import Retryable

INACTIVE = re.escape("validation_failed: {'fields': [{'field': 'responsible_id', 'code': 'user_inactive'")


def runs(db, company_id: str) -> dict[str, ProcessRun]:
    with db.session(company_id=company_id) as s:
        return {r.process_id: r for r in s.execute(select(ProcessRun)).scalars()}


def run(svc, db, company_id: str, event) -> None:
    """One event in its own transaction, as the consumer applies it."""
    with db.session(company_id=company_id, write=True) as s:
        svc.run_for_event(s, company_id, event)


def test_a_matching_event_creates_the_task_as_the_author_and_announces_the_run(svc, db, company, admin, task_calls):
    cid = company.id
    manager, _ = company.add_user()
    deal = company.deal(responsible_id=manager)
    with db.session(company_id=cid, write=True) as s:
        svc.remember_company(s, cid, "UTC")
        svc.remember_company(s, cid, "Europe/Berlin")  # a redelivery keeps the first
    p = svc.create(admin, definition(due="next_day", assignee="responsible"))
    other = svc.create(admin, definition(trigger_event="deal.stage_changed"))  # not this event
    event = record_event(deal)
    run(svc, db, cid, event)

    stored = runs(db, cid)
    assert set(stored) == {p.id}
    r = stored[p.id]
    assert (r.outcome, r.attempts, r.event_id, r.record_id) == ("succeeded", 1, event.event_id, deal.id)
    assert r.finished_at is not None
    [task] = company.tasks(deal_id=deal.id)
    assert task.id == r.task_id
    assert (task.type, task.comment, task.responsible_id, task.deal_id, task.process_id, task.done) == \
        ("call", "Call them", manager, deal.id, p.id, False)
    assert task.due_at == "2026-03-11T23:59:59Z"  # next day's end in the company's zone (UTC)
    assert task.created_by == admin.user_id  # records was called acting as the process's author...
    [made] = [h for h in company.deal_history(deal.id) if h.action == "task_created"]
    assert (made.actor_id, made.source) == (admin.user_id, "automation")  # ...with a service token
    [(row, msg)] = announced(db, cid)
    assert (row["topic"], row["aggregate_type"], row["aggregate_id"], row["event_type"]) == \
        ("crm.automation.run.v1", "process_run", p.id, "crm.automation.events.v1.ProcessRunFinished")
    assert (msg.process_id, msg.trigger_event_id, msg.outcome, msg.task_id, msg.error) == \
        (p.id, event.event_id, "succeeded", task.id, "")
    assert (msg.metadata.company_id, msg.metadata.actor_id) == (cid, admin.user_id)
    assert other.id not in stored
    assert task_calls() == {"CreateTask": 1}

    run(svc, db, cid, event)  # the same event again: the run succeeded, nothing is asked or announced twice
    assert task_calls() == {"CreateTask": 1} and len(announced(db, cid)) == 1
    assert [t.id for t in company.tasks()] == [task.id]


def test_a_company_zone_sets_the_due_day(svc, db, company, admin):
    cid = company.id
    with db.session(company_id=cid, write=True) as s:
        svc.remember_company(s, cid, "Asia/Tokyo")
    with db.session(company_id=cid) as s:
        assert s.get(Company, cid).time_zone == "Asia/Tokyo"
    svc.create(admin, definition(due="today"))
    deal = company.deal()
    run(svc, db, cid, record_event(deal))  # 12:00 UTC is 21:00 in Tokyo: the day ends 14:59:59 UTC
    assert [t.due_at for t in company.tasks(deal_id=deal.id)] == ["2026-03-10T14:59:59Z"]


def test_automated_changes_and_disabled_or_deleted_processes_start_nothing(svc, db, company, admin, task_calls):
    cid = company.id
    deal = company.deal()
    svc.create(admin, definition(enabled=False))
    gone = svc.create(admin, definition())
    svc.delete(admin, gone.id)
    run(svc, db, cid, record_event(deal))
    svc.create(admin, definition())
    run(svc, db, cid, record_event(deal, automated=True))
    with db.session(company_id=cid, write=True) as s:
        assert svc.run_for_events(s, cid, [record_event(deal, automated=True)]) == set()
    assert task_calls() == {} and company.tasks() == []
    assert runs(db, cid) == {} and announced(db, cid) == []


def test_a_refused_run_rolls_back_the_attempt_then_parks_failed_and_the_others_succeed(svc, db, company, admin,
                                                                                      task_calls):
    cid = company.id
    gone, _ = company.add_user()
    company.deactivate(gone)  # records refuses tasks for a deactivated responsible
    deal = company.deal()
    ok = svc.create(admin, definition(assignee="author"))
    refused = svc.create(admin, definition(assignee="responsible"))
    event = record_event(deal, responsible_id=gone)
    with pytest.raises(RunRefused, match=INACTIVE) as caught:
        run(svc, db, cid, event)
    assert runs(db, cid) == {} and announced(db, cid) == []  # the consumer retries it: nothing kept
    [made] = company.tasks()  # records made the other one, and will replay it by its key
    assert (made.process_id, made.responsible_id) == (ok.id, admin.user_id)

    reason = str(caught.value)
    svc.park_failed(cid, event, f"{RunRefused.__module__}.{RunRefused.__qualname__}: {reason}")  # after the DLQ
    stored = runs(db, cid)
    assert (stored[refused.id].outcome, stored[refused.id].error, stored[refused.id].attempts) == \
        ("failed", reason, RUN_ATTEMPTS)
    assert (stored[ok.id].outcome, stored[ok.id].task_id) == ("succeeded", made.id)
    assert [t.id for t in company.tasks()] == [made.id]  # replayed, not made twice
    outcomes = {m.process_id: (m.outcome, m.error) for _, m in announced(db, cid)}
    assert outcomes == {refused.id: ("failed", reason), ok.id: ("succeeded", "")}
    assert task_calls() == {"CreateTask": 4}  # both runs, then both again when parking


def test_records_down_is_retried_and_leaves_nothing(svc, db, company, admin, neighbours, keys):
    cid = company.id
    deal = company.deal()
    svc.create(admin, definition())
    event = record_event(deal)
    signer = TokenSigner(read_key(keys["service_private"]), issuer="crm-automation")
    svc = AutomationService(db, svc.pipeline, Records(neighbours.records.address, signer, 0.5),  # a shorter wait
                            run_attempts=RUN_ATTEMPTS)
    with neighbours.records.stopped():
        # a stopped records is waited for (wait_for_ready) until the call's deadline
        with pytest.raises(RecordsUnavailable, match="records: DEADLINE_EXCEEDED") as caught:
            run(svc, db, cid, event)
        assert isinstance(caught.value, Retryable)  # the consumer waits instead of counting an attempt
        with pytest.raises(RecordsUnavailable), db.session(company_id=cid, write=True) as s:
            svc.run_for_events(s, cid, [event])
        assert runs(db, cid) == {} and announced(db, cid) == []
        svc.park_failed(cid, event, str(caught.value))  # parked while records is down: shown failed
        assert [(r.outcome, r.error) for r in runs(db, cid).values()] == [("failed", "records: DEADLINE_EXCEEDED")]
    assert company.tasks() == []  # records, up again, never got the task


def test_a_poll_of_events_makes_one_call_per_author_and_leaves_the_refused_ones(svc, db, company, admin,
                                                                             task_calls):
    cid = company.id
    second_id, second_token = company.add_user(admin=True)
    second = company.principal(second_token)
    gone, _ = company.add_user()
    company.deactivate(gone)
    mine = svc.create(admin, definition(assignee="responsible"))
    theirs = svc.create(second, definition(assignee="author"))
    deals = [company.deal() for _ in range(3)]
    events = [record_event(deals[0]), record_event(deals[1], responsible_id=gone), record_event(deals[2])]
    with db.session(company_id=cid, write=True) as s:
        left = svc.run_for_events(s, cid, events)
    assert left == {events[1].event_id}  # handled one by one next, with retries and parking
    assert task_calls() == {"CreateTasks": 2}  # one call per acting author
    made = company.tasks()
    assert collections.Counter((t.created_by, t.process_id) for t in made) == \
        {(admin.user_id, mine.id): 2, (second_id, theirs.id): 3}  # each run as its author
    assert {t.deal_id for t in made if t.process_id == mine.id} == {deals[0].id, deals[2].id}
    with db.session(company_id=cid) as s:
        stored = {(r.process_id, r.event_id): r for r in s.execute(select(ProcessRun)).scalars()}
    assert stored[(mine.id, events[1].event_id)].outcome == "running"
    assert sorted(r.task_id for r in stored.values() if r.outcome == "succeeded") == sorted(t.id for t in made)
    actors = {(m.process_id, m.metadata.actor_id) for _, m in announced(db, cid)}
    assert actors == {(mine.id, admin.user_id), (theirs.id, second_id)}
    assert len(announced(db, cid)) == 5


def test_a_poll_records_refuses_as_a_whole_is_handed_back_to_the_one_by_one_path(svc, db, company, admin,
                                                                               task_calls, monkeypatch):
    cid = company.id
    deal = company.deal()
    svc.create(admin, definition())
    monkeypatch.setattr(services, "TASK_BATCH", 1000)  # automation sends more than records takes in one call
    events = [record_event(deal) for _ in range(501)]  # records' CreateTasks takes at most 500
    with pytest.raises(TaskRefused, match="too_many_tasks"), db.session(company_id=cid, write=True) as s:
        svc.run_for_events(s, cid, events)
    assert runs(db, cid) == {} and company.tasks() == []
    assert task_calls() == {"CreateTasks": 1}
