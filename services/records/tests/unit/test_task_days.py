"""The day's task lists without I/O: a company's local day in UTC (time zones, DST, unknown names) and
what makes a task overdue."""

from __future__ import annotations

import datetime as _dt

from crm_records.domain import model

UTC = _dt.timezone.utc


def test_the_local_day_is_the_companys_midnight_to_midnight_in_utc():
    now = _dt.datetime(2026, 12, 3, 20, 30, tzinfo=UTC)  # 01:30 on the 4th in Tashkent (UTC+5)
    assert model.local_day(now, "Asia/Tashkent") == (_dt.datetime(2026, 12, 3, 19, 0, tzinfo=UTC),
                                                     _dt.datetime(2026, 12, 4, 19, 0, tzinfo=UTC))
    assert model.local_day(now, "UTC") == (_dt.datetime(2026, 12, 3, tzinfo=UTC),
                                           _dt.datetime(2026, 12, 4, tzinfo=UTC))
    assert model.local_day(now, "Pacific/Kiritimati")[0] == _dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # the 4th there
    naive = now.replace(tzinfo=None)  # SQLite's datetimes come back naive: UTC
    assert model.local_day(naive, "Asia/Tashkent") == model.local_day(now, "Asia/Tashkent")


def test_a_day_with_a_clock_change_is_23_or_25_hours_and_an_unknown_zone_is_the_default():
    spring = model.local_day(_dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC), "America/New_York")
    autumn = model.local_day(_dt.datetime(2026, 11, 1, 17, 0, tzinfo=UTC), "America/New_York")
    assert spring[1] - spring[0] == _dt.timedelta(hours=23) and autumn[1] - autumn[0] == _dt.timedelta(hours=25)
    now = _dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert model.local_day(now, "Mars/Olympus") == model.local_day(now, "") == model.local_day(now, "Asia/Tashkent")


def test_a_task_is_overdue_when_not_done_and_its_due_time_has_passed():
    now = _dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert model.overdue(False, now - _dt.timedelta(seconds=1), now)
    assert not model.overdue(False, now, now) and not model.overdue(False, now + _dt.timedelta(days=1), now)
    assert not model.overdue(True, now - _dt.timedelta(days=1), now)
    assert model.overdue(False, (now - _dt.timedelta(hours=1)).replace(tzinfo=None), now)  # naive: UTC
