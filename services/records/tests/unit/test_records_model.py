"""Records rules without I/O: money in tiyin, phones per country, custom values, the stage rules."""

from __future__ import annotations

import datetime as _dt
import itertools

import pytest

from crm_platform.errors import FieldCollector
from crm_records.domain import model
from crm_records.domain.model import FieldDef, Rules, RuleViolation, StageContext


def _amount(raw):
    errors = FieldCollector()
    value = model.parse_amount(errors, "amount", raw)
    return value, [f["code"] for f in errors.fields]


@pytest.mark.parametrize("raw,tiyin", [("1500.50", 150050), (1500, 150000), (1500.5, 150050), ("0.01", 1),
                                       ("1 000,25", 100025), ("", 0), (None, 0), (0.1, 10),
                                       ("99999999999999.99", 9999999999999999)])
def test_amounts_become_integer_tiyin_without_float_rounding(raw, tiyin):
    assert _amount(raw) == (tiyin, [])


@pytest.mark.parametrize("raw,code", [("abc", "invalid_amount"), (True, "invalid_amount"), ("-1", "too_small"),
                                      ("1.234", "too_many_decimals"), ("NaN", "invalid_amount"),
                                      ("1e30", "too_large"), ("Infinity", "invalid_amount")])
def test_bad_amounts_are_refused_with_a_code(raw, code):
    assert _amount(raw) == (0, [code])


def test_amounts_are_shown_with_two_places():
    assert model.format_amount(150050) == "1500.50"
    assert model.format_amount(7) == "0.07"
    assert model.format_amount(0) == "0.00"


def _phone(country, number):
    errors = FieldCollector()
    e164, c = model.normalize_phone(errors, "phone", country, number)
    return e164, errors.fields


@pytest.mark.parametrize("country,number,e164", [
    ("UZ", "901234567", "+998901234567"), ("uz", "991234567", "+998991234567"),
    ("RU", "9123456789", "+79123456789"), ("KZ", "7710009998", "+77710009998"),
    ("US", "2015550123", "+12015550123"), ("GB", "7400123456", "+447400123456"),
    ("TJ", "917123456", "+992917123456"), ("DE", "15123456789", "+4915123456789")])
def test_valid_numbers_of_several_countries_are_stored_as_e164(country, number, e164):
    assert _phone(country, number) == (e164, [])


@pytest.mark.parametrize("country,number,code", [
    ("UZ", "90123456", "phone_length"), ("UZ", "9012345678", "phone_length"),
    ("UZ", "90 123 45 67", "phone_digits_only"), ("UZ", "+998901234567", "phone_digits_only"),
    ("UZ", "90-123-45-67", "phone_digits_only"), ("UZ", "٩٠١٢٣٤٥٦٧", "phone_digits_only"),
    ("RU", "912345678", "phone_length"), ("US", "0015550123", "phone_invalid"),
    ("UZ", "000000000", "phone_invalid")])
def test_wrong_numbers_say_what_the_country_expects(country, number, code):
    e164, errors = _phone(country, number)
    assert e164 == ""
    assert [e["code"] for e in errors] == [code]
    params = errors[0]["params"]
    assert params["country"] == country and params["dialing_code"].startswith("+") and params["example"]
    if country == "UZ":
        assert params["lengths"] == "9" and params["dialing_code"] == "+998"


def test_unknown_country_is_refused():
    assert _phone("XX", "901234567")[1][0]["code"] == "phone_country_unknown"


def test_country_list_comes_from_phonenumbers_metadata():
    uz = model.country("UZ")
    assert uz.dialing_code == 998 and uz.lengths == (9,) and len(uz.example) == 9
    assert len(model.countries()) > 200


DEFS = {k: FieldDef(k, t, o) for k, t, o in [
    ("note", "text", ()), ("size", "number", ()), ("budget", "money", ()), ("born", "date", ()),
    ("meet", "datetime", ()), ("kind", "select", ("a", "b")), ("tags", "multiselect", ("x", "y", "z")),
    ("vip", "checkbox", ()), ("mobile", "phone", ()), ("mail", "email", ()), ("site", "url", ()),
    ("won_at", "autodate", ()), ("contract_no", "autonumber", ())]}


def _clean(values):
    errors = FieldCollector()
    out = model.clean_custom(errors, DEFS, values)
    return out, {e["field"]: e["code"] for e in errors.fields}


def test_custom_values_are_normalised_by_type():
    out, errors = _clean({"note": "hi", "size": "12", "budget": "10.5", "born": "1990-02-03",
                          "meet": "2026-01-31T14:00:00+05:00", "kind": "a", "tags": ["z", "x", "z"], "vip": True,
                          "mobile": {"country": "UZ", "number": "901234567"}, "mail": "A@B.UZ",
                          "site": "https://x.uz"})
    assert errors == {}
    assert out == {"note": "hi", "size": 12, "budget": "10.50", "born": "1990-02-03", "meet": "2026-01-31T09:00:00Z",
                   "kind": "a", "tags": ["x", "z"], "vip": True, "mobile": "+998901234567", "mail": "a@b.uz",
                   "site": "https://x.uz"}


def test_wrong_custom_values_are_refused_per_field():
    _, errors = _clean({"size": "many", "budget": "1.001", "born": "03.02.1990", "meet": "2026-01-31 14:00",
                        "kind": "c", "tags": ["q"], "vip": "yes", "mobile": {"country": "UZ", "number": "1"},
                        "mail": "nope", "site": "ftp://x", "ghost": 1, "note": 5})
    assert errors == {"fields.size": "invalid_number", "fields.budget": "too_many_decimals",
                      "fields.born": "invalid_date", "fields.meet": "invalid_datetime", "fields.kind": "invalid_choice",
                      "fields.tags": "invalid_choice", "fields.vip": "invalid_type",
                      "fields.mobile.number": "phone_length", "fields.mail": "invalid_email",
                      "fields.site": "invalid_url", "fields.ghost": "unknown_field", "fields.note": "invalid_type"}


def test_empty_values_clear():
    assert _clean({"note": "", "tags": [], "size": None}) == ({"note": None, "tags": None, "size": None}, {})


NOW = _dt.datetime(2026, 11, 26, 12, 0, tzinfo=_dt.timezone.utc)


def _ctx(**rules) -> StageContext:
    return StageContext(stage_id="s2", funnel_id="f", group_key="in_progress", entity="deal", fields=DEFS,
                        rules=Rules(**{k: tuple(v) for k, v in rules.items()}))


def _enforce(ctx, before, after, written, entering=False, previous=None, numbers=None):
    numbers = numbers or itertools.count(1)
    return model.enforce_rules(ctx=ctx, previous=previous, before=before, after=after, written=set(written),
                               entering=entering, now=NOW, next_number=lambda key: next(numbers))


def test_required_fields_missing_lists_the_keys():
    with pytest.raises(RuleViolation) as info:
        _enforce(_ctx(required=["note", "amount", "size"]), {}, {"note": "x", "amount": None}, ["note"])
    assert info.value.code == "required_fields_missing" and info.value.keys == ["amount", "size"]
    assert {f["field"] for f in info.value.details["fields"]} == {"amount", "fields.size"}
    assert _enforce(_ctx(required=["note"]), {}, {"note": "x"}, ["note"]) == {}


def test_one_time_field_takes_a_first_value_but_not_a_second():
    ctx = _ctx(one_time=["note"])
    assert _enforce(ctx, {"note": None}, {"note": "first"}, ["note"]) == {}
    assert _enforce(ctx, {"note": "first"}, {"note": "first"}, ["note"]) == {}  # same value sent back
    with pytest.raises(RuleViolation) as info:
        _enforce(ctx, {"note": "first"}, {"note": "second"}, ["note"])
    assert info.value.code == "field_write_once" and info.value.keys == ["note"]
    with pytest.raises(RuleViolation):  # the rule of the stage being left counts too
        _enforce(_ctx(), {"note": "first"}, {"note": None}, ["note"], entering=True, previous=ctx)


def test_users_cannot_write_automatic_fields():
    for key in ("won_at", "contract_no"):
        with pytest.raises(RuleViolation) as info:
            _enforce(_ctx(), {}, {key: "x"}, [key])
        assert info.value.code == "read_only_field" and info.value.keys == [key]


def test_entering_a_stage_fills_autodate_and_the_next_autonumber():
    ctx = _ctx(autodate=["won_at"], autonumber=["contract_no"], required=["contract_no"])
    numbers = iter([41, 42])
    assert _enforce(ctx, {}, {}, [], entering=True, numbers=numbers) == {"won_at": "2026-11-26T12:00:00Z",
                                                                       "contract_no": 41}
    # a number once given stays; the date is refreshed on every entry
    assert _enforce(ctx, {"contract_no": 41}, {"contract_no": 41}, [], entering=True, numbers=numbers) == {
        "won_at": "2026-11-26T12:00:00Z"}
    # not entering: nothing is filled, and a missing required automatic value is reported
    with pytest.raises(RuleViolation):
        _enforce(ctx, {}, {}, [])


def test_every_country_accepts_its_own_example_numbers():
    """The example the country list shows, and phonenumbers' own mobile and fixed-line examples, are
    accepted for every region the list offers, leading zeros included (Gabon, Côte d'Ivoire, Benin)."""
    import phonenumbers

    refused = []
    for c in model.countries():
        examples = {c.example} | {phonenumbers.national_significant_number(ex) for ex in (
            phonenumbers.example_number_for_type(c.code, phonenumbers.PhoneNumberType.MOBILE),
            phonenumbers.example_number_for_type(c.code, phonenumbers.PhoneNumberType.FIXED_LINE)) if ex}
        for number in sorted(n for n in examples if n):
            errors = FieldCollector()
            e164, code = model.normalize_phone(errors, "phone", c.code, number)
            if errors.fields or not e164.startswith(f"+{c.dialing_code}") or code != c.code:
                refused.append((c.code, number, errors.fields[:1]))
    assert len(model.countries()) > 240 and refused == []
