"""Billing rules with no I/O: money in integer tiyin, the seat-second arithmetic (F6), CLICK signatures.

The prepaid value of a subscription is measured in seat-seconds: `seats` seats paid until
`paid_until` (whole Unix seconds) are worth `seats * (paid_until - now)` seat-seconds, plus a
`remainder` (0 <= remainder < seats) left over by the last integer division. Changing the seat
count spreads the same value over the new count: `divmod(value, new_seats)` gives the whole
seconds left and the new remainder, so no seat-second is ever created or lost. See docs/billing.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from decimal import Decimal, InvalidOperation

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

TIYIN_PER_UZS = 100
DAY_SECONDS = 86_400
MONTH_SECONDS = 30 * DAY_SECONDS  # one billing month is 30 days
MAX_SEATS = 1000
MAX_MONTHS = 36
AMOUNT_TOLERANCE = Decimal("0.01")  # CLICK's official modules: |expected - received| > 0.01 is -2

# SHOP-API answers (click.md section 2.6).
OK = 0
SIGN_FAILED = -1
BAD_AMOUNT = -2
ACTION_NOT_FOUND = -3
ALREADY_PAID = -4
USER_NOT_FOUND = -5
TRANSACTION_NOT_FOUND = -6
UPDATE_FAILED = -7
BAD_REQUEST = -8
CANCELLED = -9
ERROR_NOTES = {
    OK: "Success", SIGN_FAILED: "SIGN CHECK FAILED!", BAD_AMOUNT: "Incorrect parameter amount",
    ACTION_NOT_FOUND: "Action not found", ALREADY_PAID: "Already paid", USER_NOT_FOUND: "User does not exist",
    TRANSACTION_NOT_FOUND: "Transaction does not exist", UPDATE_FAILED: "Failed to update user",
    BAD_REQUEST: "Error in request from click", CANCELLED: "Transaction cancelled",
}
PREPARE, COMPLETE = 0, 1
REQUIRED_FIELDS = ("click_trans_id", "service_id", "merchant_trans_id", "amount", "action", "error", "sign_time",
                   "sign_string")


def uzs_to_tiyin(raw: str) -> int:
    """Parse an amount in UZS ("50000", "50000.50") into whole tiyin; reject fractions of a tiyin."""
    value = Decimal(str(raw).strip()) * TIYIN_PER_UZS
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise ValueError(f"{raw!r} is not a non-negative amount with at most 2 decimals")
    return int(value)


def format_uzs(tiyin: int) -> str:
    """Format tiyin as UZS with two decimals ("N.NN", the payment page's amount format)."""
    return f"{tiyin // TIYIN_PER_UZS}.{tiyin % TIYIN_PER_UZS:02d}"


def order_amount(price_per_seat_month_tiyin: int, seats: int, months: int) -> int:
    """The price of `seats` seats for `months` months, in tiyin."""
    return price_per_seat_month_tiyin * seats * months


@dataclasses.dataclass
class Plan:
    """The arithmetic state of a subscription."""

    seats: int          # seats the value is spread over (>= 1)
    paid_until: int     # Unix seconds
    remainder: int = 0  # seat-seconds beyond whole seconds, 0 <= remainder < seats

    def value(self, now: int) -> int:
        """Prepaid seat-seconds left at `now` (0 once expired)."""
        if self.paid_until <= now:
            return 0
        return self.seats * (self.paid_until - now) + self.remainder

    def respread(self, new_seats: int, now: int) -> "Plan":
        """The same value spread over `new_seats` (F6); an expired plan only changes its seat count."""
        new_seats = max(1, new_seats)
        if new_seats == self.seats:
            return Plan(self.seats, self.paid_until, self.remainder)
        value = self.value(now)
        if value == 0:
            return Plan(new_seats, self.paid_until, 0)
        seconds, remainder = divmod(value, new_seats)
        return Plan(new_seats, now + seconds, remainder)

    def add_value(self, seat_seconds: int, now: int) -> "Plan":
        """Add bought seat-seconds to what is left (a payment)."""
        seconds, remainder = divmod(self.value(now) + seat_seconds, self.seats)
        return Plan(self.seats, now + seconds, remainder)


def billed_seats(active_users: int) -> int:
    """Seats the value is spread over: every active user, at least one."""
    return max(1, active_users)


def bought_seat_seconds(seats: int, months: int) -> int:
    """Seat-seconds an order buys."""
    return seats * months * MONTH_SECONDS


# ---- CLICK -----------------------------------------------------------------------------------
def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the protocol's signature


def prepare_sign(p: dict[str, str], secret: str) -> str:
    """md5(click_trans_id + service_id + SECRET_KEY + merchant_trans_id + amount + action + sign_time)."""
    return md5_hex(p["click_trans_id"] + p["service_id"] + secret + p["merchant_trans_id"] + p["amount"]
                   + p["action"] + p["sign_time"])


def complete_sign(p: dict[str, str], secret: str) -> str:
    """Same as Prepare with merchant_prepare_id after merchant_trans_id (click.md, section 0)."""
    return md5_hex(p["click_trans_id"] + p["service_id"] + secret + p["merchant_trans_id"]
                   + p["merchant_prepare_id"] + p["amount"] + p["action"] + p["sign_time"])


def signature_ok(p: dict[str, str], secret: str, action: int) -> bool:
    """Compare the received sign_string with ours in constant time (raw strings, as received)."""
    expected = prepare_sign(p, secret) if action == PREPARE else complete_sign(p, secret)
    return hmac.compare_digest(expected, p.get("sign_string", "").strip().lower())


def parse_int(raw: str | None) -> int | None:
    """An integer form value, or None."""
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def amount_matches(raw: str, expected_tiyin: int) -> bool:
    """Compare a received UZS amount with the order's numerically, within 0.01."""
    try:
        received = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        return False
    if not received.is_finite():
        return False
    return abs(received - Decimal(expected_tiyin) / TIYIN_PER_UZS) <= AMOUNT_TOLERANCE


def missing_fields(p: dict[str, str], action: int | None) -> list[str]:
    """Required SHOP-API fields that are absent or empty."""
    needed = list(REQUIRED_FIELDS) + (["merchant_prepare_id"] if action == COMPLETE else [])
    return [f for f in needed if not str(p.get(f, "")).strip()]


# ---- phone (F15) -----------------------------------------------------------------------------
def check_phone(errors, country: str, number: str, field: str = "phone") -> str:
    """Validate a phone given as country + national digits (as records does for F15); return the
    international digits CLICK wants (998901234567), or '' after recording the field errors."""
    code = (country or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        errors.add(f"{field}.country", "phone_country_unknown")
        return ""
    meta = PhoneMetadata.metadata_for_region(code)
    lengths = tuple(sorted(set(meta.general_desc.possible_length or ()))) if meta else ()
    example = (phonenumbers.example_number_for_type(code, phonenumbers.PhoneNumberType.MOBILE)
               or phonenumbers.example_number(code))
    dialing = phonenumbers.country_code_for_region(code)
    params = {"country": code, "dialing_code": f"+{dialing}", "lengths": ", ".join(str(n) for n in lengths),
              "example": str(example.national_number) if example else ""}
    number = number or ""
    if not number.isascii() or not number.isdigit():
        errors.add(f"{field}.number", "phone_digits_only", **params)
        return ""
    if lengths and len(number) not in lengths:
        errors.add(f"{field}.number", "phone_length", length=len(number), **params)
        return ""
    try:
        parsed = phonenumbers.parse(number, code)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number_for_region(parsed, code):
        errors.add(f"{field}.number", "phone_invalid", **params)
        return ""
    return f"{parsed.country_code}{parsed.national_number}"
