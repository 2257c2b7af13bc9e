"""The history checker itself: it must see a lost, a duplicated and a reordered item, and tell an exact
redelivery from a second event."""

from __future__ import annotations

import pytest

from tests.faults.history import Event, History, compare

pytestmark = pytest.mark.faults


def test_compare_finds_lost_duplicated_reordered_and_unexpected_items():
    expected = {"a": [1, 2, 3], "b": [1, 2], "c": [1], "d": [5]}
    observed = {"a": [1, 3], "b": [2, 1], "c": [1, 1], "e": [9], "d": [5]}
    p = compare("t", expected, observed)
    assert p.lost == {"a": {2: 1}} and p.reordered == {"b": {"expected": [1, 2], "observed": [2, 1]}}
    assert p.duplicated == {"c": {1: 1}} and p.unexpected == {"e": [9]} and not p.ok()


def test_an_unsure_write_may_appear_once_and_is_left_out_of_the_order():
    ok = compare("t", {"a": [1, 2]}, {"a": [1, 9, 2]}, {"a": [9]})
    assert ok.ok() and ok.unsure_seen == 1
    assert compare("t", {"a": [1, 2]}, {"a": [1, 2]}, {"a": [9]}).ok()
    assert compare("t", {"a": [1]}, {"a": [1, 9, 9]}, {"a": [9]}).duplicated == {"a": {9: 1}}


def test_events_repeated_with_their_bytes_are_redeliveries_and_other_bytes_or_ids_are_not():
    h = History()
    same = {"k": [Event("k", "e1", "T", b"x", 1), Event("k", "e1", "T", b"x", 1), Event("k", "e2", "T", b"y", 2)]}
    assert h.check_events("ok", same, {"k": [1, 2]}, lambda e: e.message).redelivered == 1
    with pytest.raises(AssertionError, match="other bytes"):
        h.check_events("bytes", {"k": [Event("k", "e1", "T", b"x", 1), Event("k", "e1", "T", b"z", 1)]},
                       {"k": [1]}, lambda e: e.message)
    with pytest.raises(AssertionError, match="duplicated 1"):  # one change announced twice, two ids
        h.check_events("ids", {"k": [Event("k", "e1", "T", b"x", 1), Event("k", "e3", "T", b"x", 1)]},
                       {"k": [1]}, lambda e: e.message)
