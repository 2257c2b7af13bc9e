"""Typed settings read from the environment once, failing fast with every problem named."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping

_MISSING = object()
# Values that only a development system may run with: deploy/'s placeholders and `make run`'s secrets.
PLACEHOLDER = "REPLACE_ME"
DEVELOPMENT_SECRETS = frozenset({"dev-click-secret"})


def is_development(environ: Mapping[str, str] | None = None) -> bool:
    """`CRM_ENV=development` (which `make run` sets): placeholders and development secrets are allowed."""
    return (os.environ if environ is None else environ).get("CRM_ENV", "production").strip().lower() == "development"


class ConfigError(RuntimeError):
    """Raised when required settings are missing or malformed."""


class Secret:
    """A string that never shows itself in repr() or logs."""

    def __init__(self, value: str):
        self._value = value

    def get(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean (1/0/true/false), got {raw!r}")


def setting(env: str, default: Any = _MISSING, cast: Callable[[str], Any] = str, *, shared: bool = False,
            secret: bool = False, doc: str = "") -> Any:
    """Declare one setting: `env` is the variable name (prefixed unless `shared`)."""
    meta = {"env": env, "cast": _bool if cast is bool else cast, "shared": shared, "secret": secret,
            "doc": doc, "required": default is _MISSING}
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def load(cls: type, prefix: str = "", environ: Mapping[str, str] | None = None):
    """Build the settings dataclass `cls` from the environment; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "env" not in meta:
            continue
        name = meta["env"] if meta["shared"] or not prefix else f"{prefix}_{meta['env']}"
        raw = environ.get(name)
        if raw is None or raw == "":
            if meta["required"]:
                problems.append(f"{name} is required but not set" + (f" ({meta['doc']})" if meta["doc"] else ""))
            continue
        if not is_development(environ) and (PLACEHOLDER in raw or meta["secret"] and raw in DEVELOPMENT_SECRETS):
            problems.append(f"{name} holds a placeholder or development value: set the real one "
                            "(only CRM_ENV=development runs with it)")
            continue
        try:
            value = meta["cast"](raw)
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}={'***' if meta['secret'] else raw!r} is invalid: {exc}")
            continue
        values[f.name] = Secret(value) if meta["secret"] else value
    if problems:
        raise ConfigError(f"{cls.__name__}: " + "; ".join(problems))
    result = cls(**values)
    # checks across settings (e.g. `crm_platform.tls`: no plaintext gRPC outside loopback in production)
    check = getattr(result, "problems", None)
    problems = check(environ, prefix) if callable(check) else []
    if problems:
        raise ConfigError(f"{cls.__name__}: " + "; ".join(problems))
    return result
