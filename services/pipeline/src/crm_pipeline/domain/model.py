"""Pipeline rules with no I/O: the fixed groups, stage edits, colors, field definitions, stage rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm_platform.errors import FieldCollector

ENTITIES = ("deal", "client")
# The four groups of every funnel (F8), in display order; they cannot be renamed or deleted.
GROUPS = ("unprocessed", "in_progress", "failed", "successful")
STAGE_NAME_MAX = 50
FUNNEL_NAME_MAX = 100
MAX_STAGES_PER_GROUP = 50
FIELD_NAME_MAX = 100
FIELD_KEY_MAX = 50
OPTION_MAX = 100
MAX_OPTIONS = 200
MAX_FIELDS_PER_ENTITY = 300

FIELD_TYPES = ("text", "number", "money", "date", "datetime", "select", "multiselect", "checkbox", "phone",
               "email", "url", "autodate", "autonumber")
CHOICE_TYPES = ("select", "multiselect")
AUTO_TYPES = ("autodate", "autonumber")
RULE_KINDS = ("required", "one_time", "autodate", "autonumber")

# Fields every record has; stage rules may name them too (a required phone, a one-time amount).
BUILTIN_FIELDS = {
    "deal": ("title", "amount", "client_id", "responsible_id"),
    "client": ("name", "phone", "email", "responsible_id"),
}

# Preset colors of the stage color picker (any other #RRGGBB is accepted too).
PALETTE = ("#9E9E9E", "#607D8B", "#795548", "#F44336", "#E91E63", "#9C27B0", "#673AB7", "#3F51B5",
           "#2196F3", "#03A9F4", "#00BCD4", "#009688", "#4CAF50", "#8BC34A", "#CDDC39", "#FFEB3B",
           "#FFC107", "#FF9800", "#FF5722")

COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# A company's default funnels, named in its language (identity's CompanyCreated `language`, or the `lng` of
# the token of a first read that comes before the event): entity -> (funnel name, group -> [(stage, color)]).
# Russian for a new company that names none; English for an event or token from before languages (those
# companies were seeded in English, and identity's migration stored "en" for them).
LANGUAGES = ("ru", "uz", "en")
DEFAULT_LANGUAGE = "ru"
LEGACY_LANGUAGE = "en"
_COLORS = {"deal": {"unprocessed": ["#9E9E9E"], "in_progress": ["#2196F3", "#FF9800"], "failed": ["#F44336"],
                    "successful": ["#4CAF50"]},
           "client": {"unprocessed": ["#9E9E9E"], "in_progress": ["#2196F3"], "failed": ["#F44336"],
                      "successful": ["#4CAF50"]}}
_NAMES = {
    "en": {"deal": ("Deals", {"unprocessed": ["New"], "in_progress": ["Contacted", "Offer made"],
                              "failed": ["Lost"], "successful": ["Won"]}),
           "client": ("Clients", {"unprocessed": ["New"], "in_progress": ["In progress"], "failed": ["Refused"],
                                  "successful": ["Customer"]})},
    "ru": {"deal": ("Сделки", {"unprocessed": ["Новая"], "in_progress": ["Первичный контакт", "Предложение сделано"],
                               "failed": ["Проиграна"], "successful": ["Выиграна"]}),
           "client": ("Клиенты", {"unprocessed": ["Новый"], "in_progress": ["В работе"], "failed": ["Отказался"],
                                  "successful": ["Покупатель"]})},
    "uz": {"deal": ("Bitimlar", {"unprocessed": ["Yangi"], "in_progress": ["Bog‘lanildi", "Taklif berildi"],
                                 "failed": ["Muvaffaqiyatsiz"], "successful": ["Muvaffaqiyatli"]}),
           "client": ("Mijozlar", {"unprocessed": ["Yangi"], "in_progress": ["Ishlanmoqda"], "failed": ["Rad etdi"],
                                   "successful": ["Xaridor"]})},
}


def seed_language(language: str | None) -> str:
    """The language a company's funnels are seeded in: the one named, English when none is (an event or a
    token from before languages), Russian for one this version does not know."""
    code = (language or "").strip().lower()
    if not code:
        return LEGACY_LANGUAGE
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def default_funnels(language: str) -> dict[str, tuple[str, dict[str, list[tuple[str, str]]]]]:
    """The default funnels in `language` (see seed_language)."""
    names = _NAMES[seed_language(language)]
    return {entity: (funnel, {key: list(zip(stages, _COLORS[entity][key])) for key, stages in groups.items()})
            for entity, (funnel, groups) in names.items()}


DEFAULT_FUNNELS = default_funnels(LEGACY_LANGUAGE)


def normalize_color(value: str | None) -> str | None:
    """Return the color as upper-case #RRGGBB, or None when it is not one."""
    text = (value or "").strip()
    return text.upper() if COLOR_RE.match(text) else None


def check_name(errors: FieldCollector, path: str, value: str | None, max_len: int) -> str:
    """Check a 1..max_len display name; return it trimmed."""
    text = (value or "").strip()
    if not text:
        errors.add(path, "required")
    elif len(text) > max_len:
        errors.add(path, "too_long", max=max_len)
    return text


# ---- funnel edits ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StageState:
    """A stage as it is stored."""

    id: str
    group_key: str
    position: int
    name: str
    color: str


@dataclass(frozen=True)
class StageEdit:
    """One stage as the editor sent it: `id` is empty for a new stage."""

    id: str
    name: str
    color: str


@dataclass(frozen=True)
class PlannedStage:
    """A stage of the funnel after the edit (`id` empty: to be created)."""

    id: str
    group_key: str
    position: int
    name: str
    color: str


@dataclass
class FunnelPlan:
    """The outcome of an edit: the stages to keep or create, and the removed ones with their targets."""

    stages: list[PlannedStage] = field(default_factory=list)
    removed: dict[str, str] = field(default_factory=dict)  # removed stage id -> stage id its records go to


def plan_funnel_edit(current: list[StageState], groups: list[tuple[str, list[StageEdit]]],
                     removed: list[tuple[str, str]]) -> FunnelPlan:
    """Check a whole-funnel edit (F9) against the stored stages; raise FieldErrors listing every problem.

    The four groups must appear once each, in their fixed order, and keep at least one stage (a record always has a stage
    of every group to go to). Every stored stage left out must be named in `removed` with a stage
    that remains, so the records in it have a place to go.
    """
    errors = FieldCollector()
    known = {s.id: s for s in current}
    if tuple(k for k, _ in groups) != GROUPS:  # the groups are fixed: not renamed, removed, added or reordered
        errors.add("groups", "invalid_groups", groups=", ".join(GROUPS))
        errors.raise_if_any()
    plan = FunnelPlan()
    kept: set[str] = set()
    for gi, (key, stages) in enumerate(groups):
        if not stages:
            errors.add(f"groups.{gi}.stages", "group_empty")
        elif len(stages) > MAX_STAGES_PER_GROUP:
            errors.add(f"groups.{gi}.stages", "too_many", max=MAX_STAGES_PER_GROUP)
        for si, stage in enumerate(stages):
            path = f"groups.{gi}.stages.{si}"
            name = check_name(errors, f"{path}.name", stage.name, STAGE_NAME_MAX)
            color = normalize_color(stage.color)
            if color is None:
                errors.add(f"{path}.color", "invalid_color")
            if stage.id:
                if stage.id not in known:
                    errors.add(f"{path}.id", "unknown_reference")
                elif stage.id in kept:
                    errors.add(f"{path}.id", "duplicate")
                kept.add(stage.id)
            plan.stages.append(PlannedStage(stage.id, key, si, name, color or ""))
    remaining = kept & set(known)
    for ri, (stage_id, target) in enumerate(removed):
        if stage_id not in known:
            errors.add(f"removed.{ri}.stage_id", "unknown_reference")
        elif stage_id in kept:
            errors.add(f"removed.{ri}.stage_id", "stage_kept")
        elif stage_id in plan.removed:
            errors.add(f"removed.{ri}.stage_id", "duplicate")
        if target not in remaining:
            errors.add(f"removed.{ri}.move_to_stage_id", "invalid_move_target")
        if stage_id in known and stage_id not in kept:
            plan.removed[stage_id] = target
    for stage in current:
        if stage.id not in kept and stage.id not in plan.removed:
            errors.add("removed", "removal_target_missing", stage_id=stage.id, name=stage.name)
    errors.raise_if_any()
    return plan


# ---- field definitions -----------------------------------------------------------------------
def check_options(errors: FieldCollector, field_type: str, options: list[str]) -> list[str]:
    """Check the choices of a field: required for select types, forbidden for the others."""
    if field_type not in CHOICE_TYPES:
        if options:
            errors.add("options", "not_allowed")
        return []
    if not options:
        errors.add("options", "required")
        return []
    if len(options) > MAX_OPTIONS:
        errors.add("options", "too_many", max=MAX_OPTIONS)
    clean, seen = [], set()
    for i, option in enumerate(options):
        text = check_name(errors, f"options.{i}", option, OPTION_MAX)
        if text and text.casefold() in seen:
            errors.add(f"options.{i}", "duplicate")
        seen.add(text.casefold())
        clean.append(text)
    return clean


def check_field_definition(entity: str, key: str, name: str, field_type: str,
                           options: list[str]) -> tuple[str, str, list[str]]:
    """Check a new custom field; return (key, name, options) cleaned, or raise FieldErrors."""
    errors = FieldCollector()
    if entity not in ENTITIES:
        errors.add("entity", "invalid_choice")
    key = (key or "").strip()
    if not key:
        errors.add("key", "required")
    elif len(key) > FIELD_KEY_MAX:
        errors.add("key", "too_long", max=FIELD_KEY_MAX)
    elif not KEY_RE.match(key):
        errors.add("key", "invalid_key")
    elif entity in ENTITIES and key in BUILTIN_FIELDS[entity]:
        errors.add("key", "key_reserved")
    name = check_name(errors, "name", name, FIELD_NAME_MAX)
    if field_type not in FIELD_TYPES:
        errors.add("type", "invalid_choice")
        clean_options: list[str] = []
    else:
        clean_options = check_options(errors, field_type, list(options))
    errors.raise_if_any()
    return key, name, clean_options


# ---- stage rules -----------------------------------------------------------------------------
def check_rules(entity: str, rules: dict[str, list[str]], field_types: dict[str, str]) -> dict[str, list[str]]:
    """Check the rules of a stage (F10-F12) against the entity's fields; return them de-duplicated.

    Required and one-time may name built-in or custom fields the user fills; autodate and
    autonumber only custom fields of that very type (the system fills them, so they cannot be
    required or one-time).
    """
    errors = FieldCollector()
    builtin = set(BUILTIN_FIELDS[entity])
    clean: dict[str, list[str]] = {}
    for kind in RULE_KINDS:
        keys: list[str] = []
        for i, key in enumerate(rules.get(kind) or []):
            path = f"{kind}.{i}"
            if key in keys:
                continue
            ftype = field_types.get(key)
            if key not in builtin and ftype is None:
                errors.add(path, "unknown_field", key=key)
            elif kind in ("required", "one_time") and ftype in AUTO_TYPES:
                errors.add(path, "auto_field", key=key)
            elif kind in AUTO_TYPES and ftype != kind:
                errors.add(path, "wrong_field_type", key=key, type=kind)
            keys.append(key)
        clean[kind] = keys
    errors.raise_if_any()
    return clean


def empty_rules() -> dict[str, list[str]]:
    """Rules of a new stage: nothing required, nothing automatic."""
    return {kind: [] for kind in RULE_KINDS}
