"""Shared fixtures: the broker, databases (SQLite always, PostgreSQL when it answers), the system."""

from __future__ import annotations

import pathlib

import pytest

from tests.support.infra import Broker, postgres_available, postgres_database

PG = postgres_available()
DB_KINDS = ["sqlite", "postgresql"] if PG else ["sqlite"]


@pytest.fixture(scope="session")
def broker():
    """A real Tansu broker for the whole test session."""
    b = Broker().start()
    yield b
    b.stop()


@pytest.fixture(scope="module", params=DB_KINDS)
def database_url(request, tmp_path_factory):
    """A fresh, empty database: a SQLite file, and a PostgreSQL database when it answers."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict[str, str]:
    """A fresh pair of token key pairs (paths)."""
    from crm_platform.auth import generate_keypair

    folder = pathlib.Path(tmp_path_factory.mktemp("keys"))
    for name in ("access", "service"):
        generate_keypair(folder / f"{name}.pem", folder / f"{name}.pub")
    return {"access_private": str(folder / "access.pem"), "access_public": str(folder / "access.pub"),
            "service_private": str(folder / "service.pem"), "service_public": str(folder / "service.pub")}
