"""Pipeline rules without I/O: whole-funnel edits, colors, field definitions, stage rules."""

from __future__ import annotations

import pytest

from crm_pipeline.domain import model
from crm_platform.errors import FieldErrors

S = model.StageState


def _current():
    return [S("n1", "unprocessed", 0, "New", "#9E9E9E"), S("p1", "in_progress", 0, "Contacted", "#2196F3"),
            S("p2", "in_progress", 1, "Offer", "#FF9800"), S("f1", "failed", 0, "Lost", "#F44336"),
            S("s1", "successful", 0, "Won", "#4CAF50")]


def _edit(s: model.StageState) -> model.StageEdit:
    return model.StageEdit(s.id, s.name, s.color)


def _groups(current, **overrides):
    groups = {k: [_edit(s) for s in current if s.group_key == k] for k in model.GROUPS}
    groups.update(overrides)
    return [(k, groups[k]) for k in model.GROUPS]


def _codes(exc_info) -> set[tuple[str, str]]:
    return {(f["field"], f["code"]) for f in exc_info.value.fields}


def test_an_unchanged_funnel_plans_the_same_stages():
    cur = _current()
    plan = model.plan_funnel_edit(cur, _groups(cur), [])
    assert [(p.id, p.group_key, p.position) for p in plan.stages] == [(s.id, s.group_key, s.position) for s in cur]
    assert plan.removed == {}


def test_add_rename_recolor_reorder_and_remove_in_one_edit():
    cur = _current()
    plan = model.plan_funnel_edit(cur, _groups(cur, in_progress=[
        model.StageEdit("p2", " Offer sent ", "#00ff00"), model.StageEdit("", "Talks", "#3F51B5")]),
        [("p1", "p2")])
    ip = [p for p in plan.stages if p.group_key == "in_progress"]
    assert [(p.id, p.position, p.name, p.color) for p in ip] == [("p2", 0, "Offer sent", "#00FF00"),
                                                                  ("", 1, "Talks", "#3F51B5")]
    assert plan.removed == {"p1": "p2"}


def test_a_stage_may_change_group():
    cur = _current()
    plan = model.plan_funnel_edit(cur, _groups(cur, in_progress=[_edit(cur[1])],
                                               successful=[_edit(cur[2]), _edit(cur[4])]), [])
    assert [(p.id, p.position) for p in plan.stages if p.group_key == "successful"] == [("p2", 0), ("s1", 1)]


@pytest.mark.parametrize("keys", [list(model.GROUPS)[:3], list(model.GROUPS) + ["unprocessed"],
                                  ["unprocessed", "in_progress", "failed", "archive"],
                                  ["unprocessed", "in_progress", "successful", "failed"]])
def test_the_four_groups_are_fixed_not_removed_added_renamed_or_reordered(keys):
    with pytest.raises(FieldErrors) as exc:
        model.plan_funnel_edit(_current(), [(k, []) for k in keys], [])
    assert _codes(exc) == {("groups", "invalid_groups")}


def test_every_problem_is_reported_at_once():
    cur = _current()
    groups = _groups(cur, unprocessed=[model.StageEdit("n1", "x" * 51, "blue"), model.StageEdit("n1", "", "#000")],
                     failed=[], successful=[model.StageEdit("ghost", "Won", "#4CAF50")])
    with pytest.raises(FieldErrors) as exc:
        model.plan_funnel_edit(cur, groups, [("p1", "f1")])
    assert _codes(exc) == {
        ("groups.0.stages.0.name", "too_long"), ("groups.0.stages.0.color", "invalid_color"),
        ("groups.0.stages.1.name", "required"), ("groups.0.stages.1.color", "invalid_color"),
        ("groups.0.stages.1.id", "duplicate"), ("groups.2.stages", "group_empty"),
        ("groups.3.stages.0.id", "unknown_reference"),
        ("removed.0.stage_id", "stage_kept"), ("removed.0.move_to_stage_id", "invalid_move_target"),
        ("removed", "removal_target_missing"),
    }


def test_a_removed_stage_needs_a_remaining_target_of_this_funnel():
    cur = _current()
    groups = _groups(cur, in_progress=[_edit(cur[1])])
    with pytest.raises(FieldErrors) as exc:
        model.plan_funnel_edit(cur, groups, [])
    assert exc.value.fields == [{"field": "removed", "code": "removal_target_missing",
                                 "params": {"stage_id": "p2", "name": "Offer"}}]
    for target in ("p2", "elsewhere", ""):
        with pytest.raises(FieldErrors) as exc:
            model.plan_funnel_edit(cur, groups, [("p2", target)])
        assert ("removed.0.move_to_stage_id", "invalid_move_target") in _codes(exc)
    assert model.plan_funnel_edit(cur, groups, [("p2", "s1")]).removed == {"p2": "s1"}


def test_colors_are_hex_rgb():
    assert model.normalize_color(" #a1b2c3 ") == "#A1B2C3"
    for bad in ("", "red", "#abc", "#GGGGGG", "a1b2c3", "#a1b2c3d4", None):
        assert model.normalize_color(bad) is None
    assert all(model.normalize_color(c) == c for c in model.PALETTE)


def test_field_definitions():
    assert model.check_field_definition("deal", "source", " Source ", "select", [" Web ", "Call"]) == \
        ("source", "Source", ["Web", "Call"])
    assert model.check_field_definition("client", "inn", "INN", "text", []) == ("inn", "INN", [])
    cases = [
        (("lead", "k", "N", "text", []), {("entity", "invalid_choice")}),
        (("deal", "Key", "N", "text", []), {("key", "invalid_key")}),
        (("deal", "1k", "N", "text", []), {("key", "invalid_key")}),
        (("deal", "k" * 51, "N", "text", []), {("key", "too_long")}),
        (("deal", "amount", "N", "text", []), {("key", "key_reserved")}),
        (("client", "phone", "N", "text", []), {("key", "key_reserved")}),
        (("deal", "k", " ", "colour", []), {("name", "required"), ("type", "invalid_choice")}),
        (("deal", "k", "N", "text", ["a"]), {("options", "not_allowed")}),
        (("deal", "k", "N", "multiselect", []), {("options", "required")}),
        (("deal", "k", "N", "select", ["a", "A", ""]), {("options.1", "duplicate"), ("options.2", "required")}),
    ]
    for args, codes in cases:
        with pytest.raises(FieldErrors) as exc:
            model.check_field_definition(*args)
        assert _codes(exc) == codes, args


def test_stage_rules_accept_builtin_and_custom_fields_of_the_right_kind():
    types = {"contract": "text", "signed_on": "autodate", "deal_no": "autonumber"}
    rules = model.check_rules("deal", {"required": ["amount", "contract", "amount"], "one_time": ["contract"],
                                       "autodate": ["signed_on"], "autonumber": ["deal_no"]}, types)
    assert rules == {"required": ["amount", "contract"], "one_time": ["contract"], "autodate": ["signed_on"],
                     "autonumber": ["deal_no"]}
    assert model.check_rules("client", {}, {}) == model.empty_rules()
    with pytest.raises(FieldErrors) as exc:
        model.check_rules("deal", {"required": ["phone", "signed_on"], "one_time": ["deal_no"],
                                   "autodate": ["deal_no", "amount"], "autonumber": ["nope"]}, types)
    assert _codes(exc) == {("required.0", "unknown_field"), ("required.1", "auto_field"),
                           ("one_time.0", "auto_field"), ("autodate.0", "wrong_field_type"),
                           ("autodate.1", "wrong_field_type"), ("autonumber.0", "unknown_field")}


def test_default_funnels_fill_every_group():
    for entity, (name, groups) in model.DEFAULT_FUNNELS.items():
        assert entity in model.ENTITIES and name
        assert set(groups) == set(model.GROUPS)
        for stages in groups.values():
            assert stages and all(model.normalize_color(c) == c and 0 < len(n) <= 50 for n, c in stages)
