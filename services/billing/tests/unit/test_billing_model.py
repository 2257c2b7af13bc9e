"""Billing rules without I/O: exact seat-second arithmetic, money, CLICK signatures, phones."""

from __future__ import annotations

import random

import pytest

from crm_billing.domain import model
from crm_billing.domain.model import Plan
from crm_platform.errors import FieldCollector


def test_signatures_match_the_worked_example_of_click_md():
    p = {"click_trans_id": "2502012345", "service_id": "12345", "merchant_trans_id": "order-42", "amount": "10000",
         "action": "0", "sign_time": "2024-05-01 12:00:00"}
    assert model.prepare_sign(p, "MySecretKey") == "06a5a8a05a08862bbd7943a8b1fc34be"
    assert model.prepare_sign({**p, "amount": "10000.00"}, "MySecretKey") == "236e9fbca4245a8eff2a060f1682c062"
    c = {**p, "action": "1", "merchant_prepare_id": "77"}
    assert model.complete_sign(c, "MySecretKey") == "cfa3746a21a891329e31559c0612beba"
    assert model.signature_ok({**c, "sign_string": "cfa3746a21a891329e31559c0612beba"}, "MySecretKey", 1)
    assert not model.signature_ok({**c, "sign_string": "cfa3746a21a891329e31559c0612beba"}, "MySecretKey", 0)


def test_amounts_compare_numerically_within_one_tiyin():
    assert model.amount_matches("10000", 1_000_000)
    assert model.amount_matches("10000.00", 1_000_000)
    assert model.amount_matches("10000.01", 1_000_000)
    assert not model.amount_matches("10000.02", 1_000_000)
    assert not model.amount_matches("300", 1_000_000)
    assert not model.amount_matches("abc", 1_000_000)
    assert not model.amount_matches("NaN", 1_000_000)


def test_money_is_integer_tiyin():
    assert model.uzs_to_tiyin("50000") == 5_000_000
    assert model.uzs_to_tiyin("0.10") == 10
    with pytest.raises(ValueError):
        model.uzs_to_tiyin("1.005")
    assert model.format_uzs(30_000_005) == "300000.05"
    assert model.order_amount(5_000_000, 3, 2) == 30_000_000


def test_one_more_seat_spreads_the_same_value():
    now = 1_000_000
    plan = Plan(seats=1, paid_until=now + 14 * 86400)
    two = plan.respread(2, now)
    assert two.paid_until == now + 7 * 86400 and two.remainder == 0
    three = two.respread(3, now)
    assert three.value(now) == plan.value(now)  # nothing created or lost
    assert (three.paid_until - now, three.remainder) == divmod(14 * 86400, 3)
    assert three.respread(1, now).paid_until == plan.paid_until  # back to one seat: back to the same date


def test_value_is_conserved_exactly_over_random_seat_changes():
    rnd = random.Random(7)
    now = 1_700_000_000
    plan = Plan(seats=1, paid_until=now + 30 * 86400 + 17)
    value = plan.value(now)
    for _ in range(500):
        plan = plan.respread(rnd.randint(1, 50), now)
        assert plan.value(now) == value
        assert 0 <= plan.remainder < plan.seats


def test_expired_plan_keeps_its_date_and_a_payment_starts_from_now():
    now = 2_000_000
    plan = Plan(seats=2, paid_until=now - 10)
    assert plan.value(now) == 0
    assert plan.respread(3, now).paid_until == now - 10
    paid = plan.add_value(model.bought_seat_seconds(2, 1), now)
    assert paid.paid_until == now + model.MONTH_SECONDS
    live = Plan(seats=2, paid_until=now + 100).add_value(model.bought_seat_seconds(1, 1), now)
    assert live.value(now) == 200 + model.MONTH_SECONDS  # one seat-month over two seats: half a month more


def test_phone_is_checked_like_f15():
    errors = FieldCollector()
    assert model.check_phone(errors, "UZ", "901234567") == "998901234567"
    assert model.check_phone(errors, "uz", "901234567") == "998901234567"
    assert not errors.fields
    for country, number, code in (("UZ", "90123456", "phone_length"), ("UZ", "9012345678", "phone_length"),
                                  ("UZ", "90 1234567", "phone_digits_only"), ("ZZ", "901234567",
                                                                              "phone_country_unknown"),
                                  ("UZ", "000000000", "phone_invalid")):
        errors = FieldCollector()
        assert model.check_phone(errors, country, number) == ""
        assert [f["code"] for f in errors.fields] == [code], (country, number)


def test_missing_fields_and_parse():
    p = {k: "1" for k in model.REQUIRED_FIELDS}
    assert model.missing_fields(p, 0) == []
    assert model.missing_fields(p, 1) == ["merchant_prepare_id"]
    assert model.parse_int(" 12 ") == 12 and model.parse_int("x") is None
