"""The built-in task types in the company's language, over records' real gRPC with the real identity (its
access tokens carry the company's language) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as _dt
import uuid

import grpc
import pytest

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.identity.v1 import identity_service_pb2_grpc as igrpc
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.auth import ACCESS, TokenSigner, read_key
from crm_platform.errors import decode_error

BUILTIN = {  # language -> the built-in types (call, meeting, email, task) by name
    "ru": ["Звонок", "Встреча", "Письмо", "Задача"],
    "uz": ["Qo‘ng‘iroq", "Uchrashuv", "Elektron xat", "Vazifa"],
    "en": ["Call", "Meeting", "E-mail", "Task"],
}


def _sign_up(records, language: str | None) -> tuple[str, str]:
    """A company signed up at identity in `language` (None: the default); its id and its admin's token."""
    with grpc.insecure_channel(records["neighbours"]["identity"]) as channel:
        req = ipb.SignUpRequest(company_name="Co", first_name="Aziz", last_name="Karimov",
                                email=f"a{uuid.uuid4().hex[:8]}@t.uz", password="pass-1234")
        if language is not None:
            req.language = language
        resp = igrpc.AuthServiceStub(channel).SignUp(req)
    return resp.company.id, resp.tokens.access_token


def _md(token: str):
    return [("authorization", f"Bearer {token}")]


def _types(records, token: str) -> list[tuple[str, str, bool]]:
    return [(t.key, t.name, t.builtin) for t in records["stub"].ListTaskTypes(pb.ListTaskTypesRequest(),
                                                                                metadata=_md(token)).types]


@pytest.mark.parametrize("language,expected", [("ru", "ru"), ("uz", "uz"), ("en", "en"), (None, "ru")])
def test_the_builtin_task_types_are_named_in_the_companys_language(records, language, expected):
    _, token = _sign_up(records, language)
    assert _types(records, token) == [(k, n, True) for k, n in zip(["call", "meeting", "email", "task"],
                                                                  BUILTIN[expected])]


def test_a_company_type_keeps_its_name_and_may_not_repeat_a_builtin_one(records):
    _, token = _sign_up(records, "uz")
    own = records["stub"].CreateTaskType(pb.CreateTaskTypeRequest(name="Taqdimot"), metadata=_md(token)).type
    assert (own.name, own.builtin) == ("Taqdimot", False)
    assert _types(records, token)[-1] == (own.key, "Taqdimot", False)
    for name in ("Qo‘ng‘iroq", "ЗВОНОК", " meeting "):  # a built-in name in any language, in any case
        with pytest.raises(grpc.RpcError) as info:
            records["stub"].CreateTaskType(pb.CreateTaskTypeRequest(name=name), metadata=_md(token))
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert decode_error(info.value.trailing_metadata())["code"] == "task_type_exists"


def test_a_token_from_before_languages_keeps_the_english_names(records):
    """Companies from before were seeded in English (identity's migration stores "en" for them); a token
    signed without `lng` names the types as they always were."""
    company_id, _ = _sign_up(records, "uz")
    signer = TokenSigner(read_key(records["keys"]["access_private"]))
    token = signer.sign(typ=ACCESS, company_id=company_id, user_id=str(uuid.uuid4()), ttl=_dt.timedelta(minutes=5),
                        permissions=("admin",), session_id="s")
    assert [n for _, n, _ in _types(records, token)] == BUILTIN["en"]
