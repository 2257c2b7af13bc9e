"""The reports' `from` and `to` as the OpenAPI document states them: the pattern holds exactly the days records
takes (1970-01-01 to 2999-12-31, leap days included), so a generated request the document calls valid is
never refused for its day, and every other string is."""

from __future__ import annotations

import datetime as dt
import re

from crm_gateway.blueprints.reports import DAY
from crm_records.service_layer.reports import FIRST_DAY, LAST_DAY


def test_the_documented_day_pattern_is_exactly_the_days_records_takes():
    rx = re.compile(DAY["pattern"])
    assert rx.match("")  # the default: this month so far
    wrong = []
    for year in range(FIRST_DAY.year - 5, LAST_DAY.year + 6):
        for month in range(1, 13):
            for day in range(1, 32):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    taken = FIRST_DAY <= dt.date(year, month, day) <= LAST_DAY
                except ValueError:
                    taken = False
                if bool(rx.match(text)) != taken:
                    wrong.append(text)
    assert wrong == []
    assert not rx.match("2026-1-01") and not rx.match("01.12.2026") and not rx.match("2026-12-01T00:00:00Z")
