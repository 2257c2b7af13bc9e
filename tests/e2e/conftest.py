"""The system started once for the end-to-end tests, as `make run` starts it."""

from __future__ import annotations

import pytest

from tests.support.system import Api, start_system


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    s = start_system(tmp_path_factory.mktemp("system"))
    yield s
    s.stop_all()


@pytest.fixture()
def api(system) -> Api:
    return Api(system.gateway_url())
