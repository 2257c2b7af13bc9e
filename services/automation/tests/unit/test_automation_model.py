"""Process rules without I/O: what a definition may say, which events a process runs on, the task it makes."""

from __future__ import annotations

import dataclasses
import datetime as _dt

import pytest

from crm_automation.domain import model

UTC = _dt.timezone.utc


def definition(**overrides) -> model.Definition:
    base = dict(name="Follow up", type="task", trigger_event="deal.stage_changed", trigger_stage_id="",
                funnel_id="", stage_group="", due="today", assignee="responsible", task_type="call",
                comment="Call them", enabled=True)
    return model.Definition(**{**base, **overrides})


def event(**overrides) -> model.RecordEvent:
    base = dict(event_id="e1", event="deal.stage_changed", record_type="deal", record_id="d1", funnel_id="f1",
                stage_id="s1", stage_group="in_progress", responsible_id="manager",
                occurred_at=_dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC), automated=False)
    return model.RecordEvent(**{**base, **overrides})


def fields(errors) -> dict[str, str]:
    return {f["field"]: f["code"] for f in errors.fields}


def test_a_complete_definition_has_no_errors_and_names_its_entity():
    assert fields(model.check_definition(definition())) == {}
    assert definition(trigger_event="client.created").entity == "client"


@pytest.mark.parametrize("overrides,field,code", [
    ({"name": "n" * 101}, "name", "too_long"),
    ({"type": "email"}, "type", "invalid_choice"),
    ({"trigger_event": "deal.deleted"}, "trigger.event", "invalid_choice"),
    ({"trigger_event": "deal.created", "trigger_stage_id": "s1"}, "trigger.stage_id", "not_allowed"),
    ({"stage_group": "lost"}, "conditions.stage_group", "invalid_choice"),
    ({"due": "yesterday"}, "due", "invalid_choice"),
    ({"assignee": "boss"}, "assignee", "invalid_choice"),
    ({"task_type": ""}, "task_type", "required"),
    ({"task_type": "t" * 51}, "task_type", "too_long"),
    ({"comment": ""}, "comment", "required"),
    ({"comment": "c" * 2001}, "comment", "too_long"),
])
def test_each_bad_value_is_named_with_its_field(overrides, field, code):
    assert fields(model.check_definition(definition(**overrides))) == {field: code}


def test_a_stage_may_only_be_named_for_stage_triggers():
    assert fields(model.check_definition(definition(trigger_event="client.stage_changed", trigger_stage_id="s"))) == {}
    assert "trigger.stage_id" in fields(model.check_definition(
        definition(trigger_event="client.responsible_changed", trigger_stage_id="s")))


def test_matching_needs_the_trigger_and_every_condition():
    e = event()
    assert model.matches(definition(), e)
    assert model.matches(definition(trigger_stage_id="s1", funnel_id="f1", stage_group="in_progress"), e)
    assert not model.matches(definition(enabled=False), e)
    assert not model.matches(definition(trigger_event="deal.created"), e)
    assert not model.matches(definition(trigger_stage_id="s2"), e)
    assert not model.matches(definition(funnel_id="f2"), e)
    assert not model.matches(definition(stage_group="failed"), e)


@pytest.mark.parametrize("due,day", [("today", 10), ("next_day", 11), ("week", 17)])
def test_due_is_the_end_of_the_due_day_in_the_company_zone(due, day):
    # 12:00 UTC is 17:00 in Tashkent (UTC+5): the day ends at 23:59:59 there, 18:59:59 UTC
    at = model.due_at(_dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC), "Asia/Tashkent", due)
    assert at == _dt.datetime(2026, 3, day, 18, 59, 59, tzinfo=UTC)


def test_the_due_day_is_the_local_day_not_the_utc_one():
    late = _dt.datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # already the 11th in Tashkent
    assert model.due_at(late, "Asia/Tashkent", "today") == _dt.datetime(2026, 3, 11, 18, 59, 59, tzinfo=UTC)
    assert model.due_at(late, "UTC", "today") == _dt.datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC)


def test_a_month_later_keeps_the_day_or_takes_the_last_day_of_a_shorter_month():
    jan31 = _dt.datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    assert model.due_at(jan31, "UTC", "month") == _dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
    leap = _dt.datetime(2028, 1, 31, 12, 0, tzinfo=UTC)
    assert model.due_at(leap, "UTC", "month") == _dt.datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC)
    dec = _dt.datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    assert model.due_at(dec, "UTC", "month") == _dt.datetime(2027, 1, 15, 23, 59, 59, tzinfo=UTC)


def test_an_unknown_time_zone_falls_back_to_the_default_one():
    at = _dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert model.due_at(at, "Mars/Olympus", "today") == model.due_at(at, model.DEFAULT_TIME_ZONE, "today")
    assert model.due_at(at, "", "today") == model.due_at(at, model.DEFAULT_TIME_ZONE, "today")


def test_the_task_goes_to_the_records_responsible_when_the_process_says_so():
    task = model.task_for("p1", "author", definition(assignee="responsible", due="next_day"), event(), "UTC")
    assert task == model.NewTask(process_id="p1", type="call", comment="Call them",
                                 due_at=_dt.datetime(2026, 3, 11, 23, 59, 59, tzinfo=UTC), responsible_id="manager",
                                 deal_id="d1", client_id="", idempotency_key="process:p1:e1")


def test_the_task_goes_to_the_author_otherwise_or_when_the_record_has_no_responsible():
    assert model.task_for("p1", "author", definition(assignee="author"), event(), "UTC").responsible_id == "author"
    nobody = event(responsible_id="")
    assert model.task_for("p1", "author", definition(), nobody, "UTC").responsible_id == "author"


def test_a_client_event_makes_a_task_of_the_client_and_each_event_its_own_key():
    client = event(event="client.created", record_type="client", record_id="c9", event_id="e2")
    task = model.task_for("p1", "author", definition(trigger_event="client.created"), client, "UTC")
    assert (task.deal_id, task.client_id, task.idempotency_key) == ("", "c9", "process:p1:e2")
    redelivered = model.task_for("p1", "author", definition(trigger_event="client.created"),
                                 dataclasses.replace(client, responsible_id="x"), "UTC")
    assert redelivered.idempotency_key == task.idempotency_key  # the same (process, event): the same task
    other = model.task_for("p2", "author", definition(trigger_event="client.created"), client, "UTC")
    assert other.idempotency_key == "process:p2:e2"
