"""Automation over real storage (the `database_url` databases: SQLite, and PostgreSQL when it answers) with
its real neighbours: identity, pipeline and records run as their own processes (`automation_neighbours`)
on the session broker, and automation's adapters call them over real gRPC with a real service-token signer.
A company is a real sign-up at identity; what records made is read back from records."""

from __future__ import annotations

import pytest

from automation_neighbours import Company, Neighbours
from automation_support import RUN_ATTEMPTS
from crm_automation.__main__ import MIGRATIONS
from crm_automation.adapters.clients import Pipeline, Records
from crm_automation.service_layer.services import AutomationService
from crm_platform.auth import TokenSigner, read_key
from crm_platform.context import Principal
from crm_platform.db import Database


@pytest.fixture(scope="session")
def neighbours(broker, keys, tmp_path_factory) -> Neighbours:
    """identity, pipeline and records processes for the whole session."""
    n = Neighbours(broker.bootstrap, keys, tmp_path_factory.mktemp("neighbours"))
    try:
        yield n.start()
    finally:
        n.stop()


@pytest.fixture(scope="module")
def db(database_url):
    database = Database(database_url)
    database.migrate(MIGRATIONS)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def svc(db, neighbours, keys) -> AutomationService:
    """Automation's use cases as its processes build them, pointed at the real records and pipeline."""
    signer = TokenSigner(read_key(keys["service_private"]), issuer="crm-automation")
    return AutomationService(db, Pipeline(neighbours.pipeline.address, 2.0),
                             Records(neighbours.records.address, signer, 2.0), run_attempts=RUN_ATTEMPTS)


@pytest.fixture
def company(neighbours) -> Company:
    """A freshly signed-up company (time zone UTC) with its default funnels in pipeline."""
    return Company(neighbours, time_zone="UTC")


@pytest.fixture
def admin(company) -> Principal:
    """The company's first admin, as automation's API sees the caller (a real access token)."""
    return company.admin


@pytest.fixture
def task_calls(neighbours):
    """task_calls() -> the CreateTask / CreateTasks calls records handled since the test began (records'
    own /metrics), as {method: count} without the methods not called."""
    def counts() -> dict[str, int]:
        calls = neighbours.records_calls()
        return {m: calls.get(m, 0) for m in ("CreateTask", "CreateTasks")}

    before = counts()

    def since() -> dict[str, int]:
        return {m: n - before[m] for m, n in counts().items() if n - before[m]}

    return since
