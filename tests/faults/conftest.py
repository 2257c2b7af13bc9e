"""Every fault test gets a system of its own: faults leave marks a shared system should not carry."""

from __future__ import annotations

import pytest

from tests.support.system import Api, start_system


@pytest.fixture()
def system(tmp_path):
    s = start_system(tmp_path)
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def own_system(request, tmp_path_factory):
    """One system shared by the tests of a module whose faults heal completely (service or broker stopped
    and started again)."""
    s = start_system(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield s
    s.stop_all()


@pytest.fixture()
def api(system) -> Api:
    return Api(system.gateway_url())
