"""Records rules with no I/O: money, phones, custom values by type, and the stage rules (F10-F12, F15)."""

from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable, Iterable
from urllib.parse import urlparse

import phonenumbers
from phonenumbers import PhoneMetadata

from crm_platform.db import parse_rfc3339 as parse_datetime, rfc3339 as iso  # noqa: F401 - the one codec
from crm_platform.errors import FieldCollector, InvalidArgument

TEXT_MAX = 200
LONG_TEXT_MAX = 5000
MAX_AMOUNT_TIYIN = 10 ** 17  # one quadrillion UZS: beyond any real deal, far inside int64
EMAIL_RE = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
ENTITIES = ("deal", "client")
READ_ONLY_TYPES = ("autodate", "autonumber")
FIELD_TYPES = ("text", "number", "money", "date", "datetime", "select", "multiselect", "checkbox", "phone",
               "email", "url", "autodate", "autonumber")
BUILTIN_KEYS = {"deal": ("title", "amount", "client_id", "responsible_id"),
                "client": ("name", "phone", "email", "responsible_id")}
BUILTIN_TASK_TYPES = (("call", "Call"), ("meeting", "Meeting"), ("email", "E-mail"), ("task", "Task"))
BUILTIN_TASK_KEYS = [k for k, _ in BUILTIN_TASK_TYPES]  # no company type may take one of these keys
NOTE_MAX = 4000  # a note's text, trimmed
TASK_DUE = ("overdue", "today", "upcoming")  # the task lists of a salesperson's day
DEFAULT_TIME_ZONE = "Asia/Tashkent"  # identity's default: a company records has not heard of yet


# ---- money -------------------------------------------------------------------------------------
def parse_amount(errors: FieldCollector, field_name: str, raw: Any) -> int:
    """Turn a decimal string or number of UZS into integer tiyin, without float arithmetic."""
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        errors.add(field_name, "invalid_amount")
        return 0
    text = str(raw).strip().replace(" ", "").replace(",", ".") if isinstance(raw, str) else repr(raw)
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.add(field_name, "invalid_amount")
        return 0
    if not value.is_finite():
        errors.add(field_name, "invalid_amount")
        return 0
    if value < 0:
        errors.add(field_name, "too_small", min=0)
        return 0
    if value * 100 > MAX_AMOUNT_TIYIN:
        errors.add(field_name, "too_large", max=str(MAX_AMOUNT_TIYIN // 100))
        return 0
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        errors.add(field_name, "too_many_decimals", max=2)
        return 0
    return int(value * 100)


def format_amount(tiyin: int) -> str:
    """Show tiyin as a UZS decimal string with two places."""
    sign = "-" if tiyin < 0 else ""
    tiyin = abs(int(tiyin))
    return f"{sign}{tiyin // 100}.{tiyin % 100:02d}"


# ---- phones (F15) --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Country:
    code: str
    dialing_code: int
    lengths: tuple[int, ...]
    example: str


@lru_cache(maxsize=None)
def _region(region: str) -> Country | None:
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    example = (phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
               or phonenumbers.example_number(region))
    lengths = tuple(sorted(set(meta.general_desc.possible_length or ())))
    return Country(region, phonenumbers.country_code_for_region(region), lengths,
                   phonenumbers.national_significant_number(example) if example else "")  # with leading zeros (GA, CI)


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    """Every country phonenumbers knows, with dialing code, national lengths and an example."""
    return tuple(c for c in (_region(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS)) if c is not None)


def country(code: str) -> Country | None:
    """The country with ISO code `code` (case-insensitive), or None (loads only that country's metadata)."""
    code = (code or "").strip().upper()
    return _region(code) if code in phonenumbers.SUPPORTED_REGIONS else None


def normalize_phone(errors: FieldCollector, field_name: str, country_code: str, number: str) -> tuple[str, str]:
    """Check a national number for its country; return (E.164, country) or record what the country expects."""
    c = country(country_code)
    if c is None:
        errors.add(field_name + ".country", "phone_country_unknown")
        return "", ""
    number = number or ""
    params = {"country": c.code, "dialing_code": f"+{c.dialing_code}",
              "lengths": ", ".join(str(n) for n in c.lengths), "example": c.example}
    if not number.isascii() or not number.isdigit():
        errors.add(field_name + ".number", "phone_digits_only", **params)
        return "", c.code
    if c.lengths and len(number) not in c.lengths:
        errors.add(field_name + ".number", "phone_length", length=len(number), **params)
        return "", c.code
    try:
        parsed = phonenumbers.parse(number, c.code)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number_for_region(parsed, c.code):
        errors.add(field_name + ".number", "phone_invalid", **params)
        return "", c.code
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), c.code


def national_digits(e164: str) -> str:
    """The national number of a stored E.164 phone."""
    try:
        return str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        return e164.lstrip("+")


def check_email(errors: FieldCollector, field_name: str, value: str | None) -> str | None:
    """Accept an empty e-mail (none) or a valid address up to 320 characters."""
    value = (value or "").strip().lower()
    if not value:
        return None
    if len(value) > 320:
        errors.add(field_name, "too_long", max=320)
    elif not EMAIL_RE.match(value):
        errors.add(field_name, "invalid_email")
    return value


def check_text(errors: FieldCollector, field_name: str, value: str | None, *, max_len: int = TEXT_MAX,
               required: bool = True) -> str:
    """Trim a text field and check its length."""
    return errors.text(field_name, value, max_len=max_len, required=required)


# ---- times: the platform's one RFC 3339 codec ----------------------------------------------------
def aware(value: _dt.datetime) -> _dt.datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value.astimezone(_dt.timezone.utc)


def overdue(done: bool, due_at: _dt.datetime, now: _dt.datetime) -> bool:
    """A task is overdue when it is not done and its due time has passed."""
    return not done and aware(due_at) < aware(now)


def local_day(now: _dt.datetime, time_zone: str) -> tuple[_dt.datetime, _dt.datetime]:
    """The start of today and of tomorrow in `time_zone` (an IANA name; unknown ones are the default), in UTC."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)
    today = aware(now).astimezone(zone).date()
    start, end = (_dt.datetime.combine(day, _dt.time(0), tzinfo=zone).astimezone(_dt.timezone.utc)
                  for day in (today, today + _dt.timedelta(days=1)))
    return start, end


# ---- stage contexts and custom values ------------------------------------------------------------
@dataclass(frozen=True)
class FieldDef:
    key: str
    type: str
    options: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Rules:
    required: tuple[str, ...] = ()
    one_time: tuple[str, ...] = ()
    autodate: tuple[str, ...] = ()
    autonumber: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageContext:
    """What records needs to know about a stage to save a record in it (from pipeline)."""

    stage_id: str
    funnel_id: str
    group_key: str
    entity: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    funnel_version: int = 0
    name: str = ""
    color: str = ""


@dataclass(frozen=True)
class BoardStage:
    """A stage as the board shows it: a column's heading (from pipeline)."""

    stage_id: str
    name: str
    color: str
    group_key: str


@dataclass(frozen=True)
class BoardColumn:
    """One column of the board: the stage (None when it left the funnel but still holds deals), the
    number and sum of its deals, and its newest deals (database rows)."""

    stage_id: str
    stage: BoardStage | None
    count: int
    amount: int
    deals: list = field(default_factory=list)


def empty(value: Any) -> bool:
    """A value that counts as not filled."""
    return value is None or value == "" or value == [] or value == {}


def clean_custom(errors: FieldCollector, defs: dict[str, FieldDef], values: dict[str, Any]) -> dict[str, Any]:
    """Check written custom values against their field's type and options; None clears a value."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"fields.{key}"
        d = defs.get(key)
        if d is None:
            errors.add(name, "unknown_field", key=key)
            continue
        if empty(value):
            out[key] = None
            continue
        if d.type in READ_ONLY_TYPES:
            out[key] = value  # refused later as read_only_field, with the other rule violations
            continue
        out[key] = _clean_value(errors, name, d, value)
    return out


def _clean_value(errors: FieldCollector, name: str, d: FieldDef, value: Any) -> Any:
    t = d.type
    if t == "text":
        if not isinstance(value, str):
            errors.add(name, "invalid_type")
        elif len(value) > LONG_TEXT_MAX:
            errors.add(name, "too_long", max=LONG_TEXT_MAX)
        return value
    if t == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            errors.add(name, "invalid_type")
            return value
        try:
            num = Decimal(str(value).strip())
        except InvalidOperation:
            errors.add(name, "invalid_number")
            return value
        if not num.is_finite():
            errors.add(name, "invalid_number")
            return value
        return int(num) if num == num.to_integral_value() else str(num.normalize())
    if t == "money":
        sub = FieldCollector()
        tiyin = parse_amount(sub, name, value)
        for f in sub.fields:
            errors.add(f["field"], f["code"], **f["params"])
        return format_amount(tiyin)
    if t == "date":
        try:
            return _dt.date.fromisoformat(str(value)).isoformat() if isinstance(value, str) and len(value) == 10 \
                else _bad(errors, name, "invalid_date", value)
        except ValueError:
            return _bad(errors, name, "invalid_date", value)
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        return iso(parsed) if parsed else _bad(errors, name, "invalid_datetime", value)
    if t == "select":
        if not isinstance(value, str) or value not in d.options:
            errors.add(name, "invalid_choice", options=", ".join(d.options))
        return value
    if t == "multiselect":
        if not isinstance(value, list) or any(not isinstance(v, str) or v not in d.options for v in value):
            errors.add(name, "invalid_choice", options=", ".join(d.options))
            return value
        return [o for o in d.options if o in value]  # the options' order, no duplicates
    if t == "checkbox":
        if not isinstance(value, bool):
            errors.add(name, "invalid_type")
        return value
    if t == "phone":
        if not isinstance(value, dict):
            errors.add(name, "invalid_type")
            return value
        e164, _ = normalize_phone(errors, name, str(value.get("country", "")), str(value.get("number", "")))
        return e164
    if t == "email":
        return check_email(errors, name, value if isinstance(value, str) else "@")
    if t == "url":
        ok = isinstance(value, str) and len(value) <= 2000
        parsed = urlparse(value) if ok else None
        if not ok or parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors.add(name, "invalid_url")
        return value
    errors.add(name, "invalid_type")
    return value


def _bad(errors: FieldCollector, name: str, code: str, value: Any) -> Any:
    errors.add(name, code)
    return value


_BUILTIN_NAMES = {k for keys in BUILTIN_KEYS.values() for k in keys}


class RuleViolation(InvalidArgument):
    """A stage rule refused the save (HTTP 422); `keys` names the fields."""

    def __init__(self, code: str, message: str, keys: Iterable[str], field_code: str, **extra: Any):
        keys = sorted(set(keys))
        super().__init__(code, message, keys=keys, names=", ".join(keys),
                         fields=[{"field": k if k in _BUILTIN_NAMES else f"fields.{k}", "code": field_code,
                                  "params": {}} for k in keys], **extra)
        self.keys = keys


def _read_only(ctx: StageContext) -> set[str]:
    return set(ctx.rules.autodate) | set(ctx.rules.autonumber) | {
        k for k, d in ctx.fields.items() if d.type in READ_ONLY_TYPES}


def may_refuse(ctx: StageContext, written: set[str]) -> bool:
    """Whether `enforce_rules` can refuse a save of a record staying in `ctx`'s stage that writes only
    `written` (False: every such save passes, whatever the record holds)."""
    return bool(ctx.rules.required) or bool(written & (_read_only(ctx) | set(ctx.rules.one_time)))


def enforce_rules(*, ctx: StageContext, previous: StageContext | None, before: dict[str, Any],
                  after: dict[str, Any], written: set[str], entering: bool, now: _dt.datetime,
                  next_number: Callable[[str], int]) -> dict[str, Any]:
    """Apply the stage rules to one save; return the custom values the system filled.

    `before`/`after` map every field key (custom and built-in) to its value before and after the
    caller's changes; `written` holds the keys the caller wrote. Order: read-only, one-time, the
    stage's automatic fields (on entering it), then required.
    """
    read_only = _read_only(ctx)
    touched = sorted(k for k in written if k in read_only and before.get(k) != after.get(k))
    if touched:
        raise RuleViolation("read_only_field", "These fields are filled by the system", touched, "read_only")
    one_time = set(ctx.rules.one_time) | (set(previous.rules.one_time) if previous else set())
    again = [k for k in written if k in one_time and not empty(before.get(k)) and before.get(k) != after.get(k)]
    if again:
        raise RuleViolation("field_write_once", "These fields can be filled only once", again, "write_once")
    filled: dict[str, Any] = {}
    if entering:
        for key in ctx.rules.autodate:
            filled[key] = iso(now)
        for key in ctx.rules.autonumber:
            if empty(after.get(key)):
                filled[key] = next_number(key)
    final = {**after, **filled}
    missing = [k for k in ctx.rules.required if empty(final.get(k))]
    if missing:
        raise RuleViolation("required_fields_missing", "Fill in the required fields", missing, "required",
                            stage_id=ctx.stage_id)
    return filled
