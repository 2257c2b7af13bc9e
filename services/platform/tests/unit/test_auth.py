"""Token verification: the verified-token cache keeps expiry and kind checks."""

from __future__ import annotations

import datetime as _dt
import time

import pytest

from crm_platform.auth import ACCESS, SERVICE, TokenSigner, TokenVerifier, generate_keypair, read_key
from crm_platform.errors import Unauthenticated


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    generate_keypair(folder / "a.pem", folder / "a.pub")
    generate_keypair(folder / "s.pem", folder / "s.pub")
    verifier = TokenVerifier(read_key(str(folder / "a.pub")), read_key(str(folder / "s.pub")), "records")
    return (TokenSigner(read_key(str(folder / "a.pem"))), TokenSigner(read_key(str(folder / "s.pem"))), verifier)


def _code(call) -> str:
    with pytest.raises(Unauthenticated) as info:
        call()
    return info.value.code


def test_a_cached_token_still_expires_and_keeps_its_kind(pair):
    access, service, verifier = pair
    token = access.sign(typ=ACCESS, company_id="c1", user_id="u1", ttl=_dt.timedelta(seconds=2),
                        permissions=["admin"])
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # the second check is the cached one
    assert (first.company_id, first.user_id, first.permissions) == ("c1", "u1", frozenset({"admin"}))
    svc = service.sign_service(caller="automation", callee="records", company_id="c1", user_id="u1")
    caller = verifier.verify(svc)
    assert (caller.kind, caller.caller, caller.permissions) == ("service", "automation", frozenset())
    assert _code(lambda: verifier.verify(svc, allowed=(ACCESS,))) == "token_invalid"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _code(lambda: verifier.verify(forged)) == "token_invalid"
    time.sleep(2.1)
    assert _code(lambda: verifier.verify(token)) == "token_expired"


def test_a_service_token_holds_no_rights_and_serves_only_its_callee(pair):
    _, service, verifier = pair
    # a token signed with the service key that claims rights, as a compromised pod would sign it
    forged = service.sign(typ=SERVICE, company_id="victim", user_id="u1", ttl=_dt.timedelta(minutes=1),
                          permissions=["admin"], extra={"svc": "automation", "aud": "crm-records"})
    assert verifier.verify(forged).permissions == frozenset()
    for_pipeline = service.sign_service(caller="records", callee="pipeline", company_id="c1", user_id="u1")
    assert _code(lambda: verifier.verify(for_pipeline)) == "token_invalid"  # meant for another service
    nameless = service.sign(typ=SERVICE, company_id="c1", user_id="u1", ttl=_dt.timedelta(minutes=1),
                            extra={"aud": "crm-records"})
    assert _code(lambda: verifier.verify(nameless)) == "token_invalid"  # no `svc`: no caller to grant to
    old_style = service.sign(typ=SERVICE, company_id="c1", user_id="u1", ttl=_dt.timedelta(minutes=1),
                             extra={"svc": "automation"})
    assert _code(lambda: verifier.verify(old_style)) == "token_invalid"  # the shared audience "crm"


def test_the_allowlist_grants_per_caller_and_method():
    from crm_platform.service_calls import grants

    assert grants("records", "automation", "/crm.records.v1.RecordsService/CreateTasks") == frozenset()
    assert grants("records", "automation", "/crm.records.v1.RecordsService/CreateDeal") is None
    assert grants("identity", "automation", "/crm.identity.v1.DirectoryService/BatchGetUsers") is None
    assert grants("identity", "records", "/crm.identity.v1.DirectoryService/BatchGetUsers") == frozenset()
    assert grants("identity", "records", "/crm.identity.v1.IdentityService/CreateUser") is None
