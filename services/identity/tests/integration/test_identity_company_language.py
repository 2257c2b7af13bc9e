"""A company's language over real gRPC (SQLite and PostgreSQL): sign-up names the seeded roles and group in
it (Russian by default), stores it, answers it in GetMe, puts it in CompanyCreated and the access token, and
refuses a language it does not know without creating anything."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sqlalchemy import func, insert, select

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm.identity.v1 import identity_service_pb2 as pb
from crm.identity.v1 import identity_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database, utcnow
from crm_platform.errors import decode_error
from crm_platform.rpc import GrpcServer
from crm_identity.__main__ import MIGRATIONS
from crm_identity.adapters.orm import OUTBOX, Company, Group, Role, User
from crm_identity.entrypoints.grpc_server import PUBLIC_METHODS, AuthService, DirectoryService
from crm_identity.service_layer.services import IdentityService

PW = "pass-1234"
SEEDED = {  # language -> (roles, groups)
    "ru": ({"Администратор", "Менеджер"}, ["Основная"]),
    "uz": ({"Administrator", "Menejer"}, ["Asosiy"]),
    "en": ({"Administrator", "Manager"}, ["Main"]),
}


@pytest.fixture(scope="module")
def server(database_url, keys):
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    svc = IdentityService(db, TokenSigner(read_key(keys["access_private"])))
    verifier = TokenVerifier(read_key(keys["access_public"]))
    srv = GrpcServer("127.0.0.1:0", verifier, public_methods=PUBLIC_METHODS)
    srv.add(pb_grpc.add_AuthServiceServicer_to_server, AuthService(svc), "crm.identity.v1.AuthService")
    srv.add(pb_grpc.add_DirectoryServiceServicer_to_server, DirectoryService(svc), "crm.identity.v1.DirectoryService")
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield {"auth": pb_grpc.AuthServiceStub(channel), "dir": pb_grpc.DirectoryServiceStub(channel), "db": db,
           "verifier": verifier}
    channel.close()
    srv.stop(1)
    db.dispose()


def _email() -> str:
    return f"{uuid.uuid4().hex[:12]}@t.uz"


def _signup(server, email: str, **extra):
    return server["auth"].SignUp(pb.SignUpRequest(company_name="Co", first_name="A", last_name="B", email=email,
                                                  password=PW, **extra))


def _md(token):
    return [("authorization", f"Bearer {token}")]


def _event(db, company_id: str) -> ev.CompanyCreated:
    with db.session() as s:
        payload = s.execute(select(OUTBOX.c.payload).where(
            OUTBOX.c.company_id == company_id,
            OUTBOX.c.event_type == ev.CompanyCreated.DESCRIPTOR.full_name)).scalar_one()
    return ev.CompanyCreated.FromString(payload)


@pytest.mark.parametrize("language", ["ru", "uz", "en"])
def test_sign_up_seeds_the_roles_and_group_in_the_companys_language(server, language):
    resp = _signup(server, _email(), language=language)
    assert resp.company.language == language
    token = resp.tokens.access_token
    roles = server["dir"].ListRoles(pb.ListRolesRequest(), metadata=_md(token)).roles
    groups = server["dir"].ListGroups(pb.ListGroupsRequest(), metadata=_md(token)).groups
    want_roles, want_groups = SEEDED[language]
    assert {r.name for r in roles} == want_roles
    assert [g.name for g in groups] == want_groups
    admin = next(r for r in roles if r.system)
    assert admin.name == ("Администратор" if language == "ru" else "Administrator") and admin.permissions.admin
    me = server["dir"].GetMe(pb.GetMeRequest(), metadata=_md(token))
    assert me.company.language == language and me.role.name == admin.name
    assert _event(server["db"], resp.company.id).language == language  # what pipeline seeds its funnels by
    assert server["verifier"].verify(token).language == language  # what a first read seeds by


def test_russian_is_the_default_and_the_code_is_read_in_any_case(server):
    default = _signup(server, _email())
    assert default.company.language == "ru"
    me = server["dir"].GetMe(pb.GetMeRequest(), metadata=_md(default.tokens.access_token))
    assert me.company.language == "ru" and me.role.name == "Администратор"
    assert _event(server["db"], default.company.id).language == "ru"
    assert _signup(server, _email(), language=" UZ ").company.language == "uz"
    login = server["auth"].Login(pb.LoginRequest(email=default.user.email, password=PW))
    assert server["verifier"].verify(login.tokens.access_token).language == "ru"
    refreshed = server["auth"].RefreshToken(pb.RefreshTokenRequest(refresh_token=login.tokens.refresh_token))
    assert server["verifier"].verify(refreshed.tokens.access_token).language == "ru"


@pytest.mark.parametrize("language", ["de", "uz-Cyrl", "english", "ру"])
def test_another_language_is_refused_and_nothing_is_created(server, language):
    email = _email()

    def counts():
        with server["db"].session() as s:
            return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                         for t in (Company.__table__, User.__table__, Role.__table__, Group.__table__, OUTBOX))

    before = counts()
    with pytest.raises(grpc.RpcError) as info:
        _signup(server, email, language=language)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    body = decode_error(info.value.trailing_metadata())
    assert body["code"] == "validation_failed"
    assert [(f["field"], f["code"]) for f in body["details"]["fields"]] == [("language", "invalid_choice")]
    assert counts() == before
    with server["db"].session() as s:
        assert s.execute(select(User).where(User.email == email)).first() is None


def test_a_company_from_before_languages_is_english(server):
    """The migration's default: a company written without a language (as every one before) reads "en",
    the language its English roles, group and funnels were seeded in."""
    cid = str(uuid.uuid4())
    with server["db"].session(write=True) as s:
        s.execute(insert(Company.__table__).values(id=cid, name="Old", crm_id=uuid.uuid4().hex[:8].upper(),
                                                   time_zone="Asia/Tashkent", created_at=utcnow()))
    with server["db"].session() as s:
        assert s.get(Company, cid).language == "en"
