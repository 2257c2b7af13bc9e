"""The system started once for the end-to-end tests, as `make run` starts it."""

from __future__ import annotations

import pytest

from tests.support.system import Api, start_system, undeclared_errors


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    s = start_system(tmp_path_factory.mktemp("system"))
    yield s
    s.stop_all()
    # every error the suite provoked is one the OpenAPI document declares for its operation
    undeclared = undeclared_errors(s.log_dir / "gateway.log")
    assert not undeclared, f"answers the OpenAPI document does not declare: {undeclared}"


@pytest.fixture()
def api(system) -> Api:
    return Api(system.gateway_url())
