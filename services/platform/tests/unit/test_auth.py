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
    verifier = TokenVerifier(read_key(str(folder / "a.pub")), read_key(str(folder / "s.pub")))
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
    svc = service.sign(typ=SERVICE, company_id="c1", user_id="u1", ttl=_dt.timedelta(minutes=1))
    assert verifier.verify(svc).kind == "service"
    assert _code(lambda: verifier.verify(svc, allowed=(ACCESS,))) == "token_invalid"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _code(lambda: verifier.verify(forged)) == "token_invalid"
    time.sleep(2.1)
    assert _code(lambda: verifier.verify(token)) == "token_expired"
