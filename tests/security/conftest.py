"""The security suites share one system and two companies full of objects."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import api, system  # noqa: F401 - the one system of the session
from tests.security.world import build_company
from tests.support.system import Api


@pytest.fixture(scope="module")
def doc(system):
    return Api(system.gateway_url()).get("/api/openapi.json").json()


@pytest.fixture(scope="module")
def companies(system):
    api = Api(system.gateway_url())
    return build_company(api), build_company(api)
