"""Identity over real gRPC on a free port, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sqlalchemy import select

from crm.identity.v1 import identity_service_pb2 as pb
from crm.identity.v1 import identity_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database
from crm_platform.errors import decode_error
from crm_platform.rpc import GrpcServer
from crm_identity.__main__ import MIGRATIONS
from crm_identity.entrypoints.grpc_server import PUBLIC_METHODS, AuthService, DirectoryService
from crm_identity.service_layer.services import IdentityService

PW = "pass-1234"  # 8..30 characters, not a common password


@pytest.fixture(scope="module")
def server(database_url, keys):
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    svc = IdentityService(db, TokenSigner(read_key(keys["access_private"])))
    srv = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"])), public_methods=PUBLIC_METHODS)
    srv.add(pb_grpc.add_AuthServiceServicer_to_server, AuthService(svc), "crm.identity.v1.AuthService")
    srv.add(pb_grpc.add_DirectoryServiceServicer_to_server, DirectoryService(svc), "crm.identity.v1.DirectoryService")
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield {"auth": pb_grpc.AuthServiceStub(channel), "dir": pb_grpc.DirectoryServiceStub(channel), "svc": svc,
           "db": db}
    channel.close()
    srv.stop(1)
    db.dispose()


def _signup(server, email=None):
    return server["auth"].SignUp(pb.SignUpRequest(company_name="Co", first_name="A", last_name="B",
                                                  email=email or f"{uuid.uuid4().hex[:12]}@t.uz", password=PW,
                                                  language="en"))  # the tests name the English roles


def _md(token):
    return [("authorization", f"Bearer {token}")]


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def test_signup_login_and_directory(server):
    resp = _signup(server)
    token = resp.tokens.access_token
    me = server["dir"].GetMe(pb.GetMeRequest(), metadata=_md(token))
    assert me.company.crm_id == resp.company.crm_id and me.role.permissions.admin
    login = server["auth"].Login(pb.LoginRequest(email=resp.user.email.upper(), password=PW))
    assert login.tokens.access_token


def test_calls_without_a_token_are_unauthenticated(server):
    code, body = _error(lambda: server["dir"].GetMe(pb.GetMeRequest()))
    assert code == grpc.StatusCode.UNAUTHENTICATED and body["code"] == "unauthenticated"


def test_another_companys_user_is_not_found(server):
    a, b = _signup(server), _signup(server)
    code, body = _error(lambda: server["dir"].GetUser(pb.GetUserRequest(id=a.user.id),
                                                      metadata=_md(b.tokens.access_token)))
    assert code == grpc.StatusCode.NOT_FOUND
    users = server["dir"].BatchGetUsers(pb.BatchGetUsersRequest(ids=[a.user.id, b.user.id]),
                                        metadata=_md(b.tokens.access_token)).users
    assert [u.id for u in users] == [b.user.id]


def test_email_unique_per_company_with_a_409_code(server):
    a = _signup(server)
    roles = server["dir"].ListRoles(pb.ListRolesRequest(), metadata=_md(a.tokens.access_token)).roles
    groups = server["dir"].ListGroups(pb.ListGroupsRequest(), metadata=_md(a.tokens.access_token)).groups
    req = pb.CreateUserRequest(first_name="C", last_name="D", email=a.user.email, password=PW,
                               role_id=roles[0].id, group_id=groups[0].id)
    code, body = _error(lambda: server["dir"].CreateUser(req, metadata=_md(a.tokens.access_token)))
    assert code == grpc.StatusCode.ALREADY_EXISTS and body["code"] == "email_taken"


def test_reset_tokens_are_stored_only_as_hashes(server):
    from sqlalchemy import select

    from crm_identity.adapters.orm import OutgoingMail, ResetToken

    a = _signup(server)
    server["auth"].ForgotPassword(pb.ForgotPasswordRequest(email=a.user.email))
    server["svc"].process_reset_requests()
    with server["db"].session() as s:
        mail = s.execute(select(OutgoingMail).where(OutgoingMail.recipient == a.user.email)).scalar_one()
        token = mail.body.split("#token=")[1].split()[0]
        hashes = s.execute(select(ResetToken.token_hash).where(ResetToken.user_id == a.user.id)).scalars().all()
    assert token not in hashes and len(hashes) == 1
    server["auth"].ResetPassword(pb.ResetPasswordRequest(token=token, password="new-pass-1"))
    code, body = _error(lambda: server["auth"].ResetPassword(pb.ResetPasswordRequest(token=token,
                                                                                     password="other-pass-1")))
    assert body["code"] == "reset_token_invalid"
    assert server["auth"].Login(pb.LoginRequest(email=a.user.email, password="new-pass-1")).tokens.access_token


def _at_once(*calls):
    """Run the calls in threads released together; return each one's result or the exception it raised."""
    import concurrent.futures
    import threading

    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the caller inspects it
            return exc

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_a_refresh_token_used_twice_at_once_rotates_once(server):
    """Two refreshes of one token at the same moment (on PostgreSQL: on separate connections) take the
    token's row in turn: one rotates it, the other sees it rotated, which is a reuse, and the whole
    session (the family, with the token just issued to the first) is revoked."""
    from crm_platform.errors import Unauthenticated

    svc = server["svc"]
    for _ in range(10):
        token = _signup(server).tokens.refresh_token
        results = _at_once(*[lambda: svc.refresh(token)] * 4)
        issued = [r for r in results if isinstance(r, dict)]
        assert len(issued) == 1, results
        assert all(isinstance(r, Unauthenticated) for r in results if not isinstance(r, dict)), results
        code, _ = _error(lambda: server["auth"].RefreshToken(pb.RefreshTokenRequest(
            refresh_token=issued[0]["refresh_token"])))
        assert code == grpc.StatusCode.UNAUTHENTICATED  # the reuse ended the session


def test_a_reset_token_used_twice_at_once_sets_one_password(server):
    """Two password resets with one token at the same moment: the token is used once, the other fails."""
    from crm_platform.errors import InvalidArgument
    from crm_identity.adapters.orm import OutgoingMail

    svc = server["svc"]
    for _ in range(3):
        a = _signup(server)
        server["auth"].ForgotPassword(pb.ForgotPasswordRequest(email=a.user.email))
        svc.process_reset_requests()
        with server["db"].session() as s:
            mail = s.execute(select(OutgoingMail).where(OutgoingMail.recipient == a.user.email)).scalar_one()
        token = mail.body.split("#token=")[1].split()[0]
        results = _at_once(lambda: svc.reset_password(token=token, password="first-pass-1"),
                           lambda: svc.reset_password(token=token, password="second-pass-1"))
        assert sorted(type(r).__name__ for r in results) == ["InvalidArgument", "NoneType"], results
        assert all(r is None or isinstance(r, InvalidArgument) and r.code == "reset_token_invalid" for r in results)
        password = "first-pass-1" if results[0] is None else "second-pass-1"
        assert server["auth"].Login(pb.LoginRequest(email=a.user.email, password=password)).tokens.access_token


def test_two_admins_removed_at_once_leave_one(server):
    """Two administrators each deactivating (or demoting) the other at the same moment: the checks of
    "the company keeps an active administrator" run one after the other, so one change is refused: with
    last_admin, or, when the other change was committed before this one read its caller's rights, as
    forbidden (the caller is no longer an administrator)."""
    from crm_platform.context import Principal
    from crm_platform.errors import FailedPrecondition, PermissionDenied
    from crm_identity.adapters.orm import Role, User

    svc, db = server["svc"], server["db"]
    for i in range(8):
        signup = _signup(server)
        cid = signup.company.id
        with db.session(company_id=cid) as s:
            roles = {r.name: r.id for r in s.execute(select(Role)).scalars()}
        admin = Principal(company_id=cid, user_id=signup.user.id, permissions=frozenset({"admin"}))
        other = svc.create_user(admin, first_name="O", last_name="P", email=f"{uuid.uuid4().hex[:12]}@t.uz",
                                password=PW, role_id=roles["Administrator"], group_id=signup.user.group_id)
        as_other = Principal(company_id=cid, user_id=other.id, permissions=frozenset({"admin"}))
        second = (lambda: svc.deactivate_user(admin, other.id)) if i % 2 else \
            (lambda: svc.update_user(admin, other.id, {"role_id": roles["Manager"]}))
        results = _at_once(lambda: svc.deactivate_user(as_other, signup.user.id), second)
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1, results
        assert (type(refused[0]), refused[0].code) in ((FailedPrecondition, "last_admin"),
                                                        (PermissionDenied, "forbidden")), results
        with db.session(company_id=cid) as s:
            admins = [u for u, r in s.execute(select(User, Role).join(Role, Role.id == User.role_id)).all()
                      if u.active and r.permissions.get("admin")]
        assert len(admins) == 1



def _company(server):
    """A fresh company: its admin's Principal, the role ids by name, the admin's group id."""
    from crm_platform.context import Principal
    from crm_identity.adapters.orm import Role

    signup = _signup(server)
    cid = signup.company.id
    with server["db"].session(company_id=cid) as s:
        roles = {r.name: r.id for r in s.execute(select(Role)).scalars()}
    admin = Principal(company_id=cid, user_id=signup.user.id, permissions=frozenset({"admin"}))
    return admin, roles, signup.user.group_id


def _active_admins(server, company_id):
    from crm_identity.adapters.orm import Role, User

    with server["db"].session(company_id=company_id) as s:
        return [u.id for u, r in s.execute(select(User, Role).join(Role, Role.id == User.role_id)).all()
                if u.active and r.permissions.get("admin")]


def _new_user(server, admin, role_id, group_id):
    return server["svc"].create_user(admin, first_name="O", last_name="P", email=f"{uuid.uuid4().hex[:12]}@t.uz",
                                     password=PW, role_id=role_id, group_id=group_id)


NO_ADMIN = {"admin": False, "edit_phone": True}


def test_a_custom_role_of_the_only_admins_keeps_its_admin_right(server):
    """Taking `admin` from a custom role that the company's only active administrators hold is refused
    (last_admin, like deactivating or demoting the last one); with another administrator left it is allowed."""
    from crm_platform.errors import FailedPrecondition

    svc = server["svc"]
    admin, roles, group = _company(server)
    boss = svc.create_role(admin, "Boss", {"admin": True})
    svc.update_user(admin, admin.user_id, {"role_id": boss.id})  # the only admin now holds the custom role
    with pytest.raises(FailedPrecondition) as info:
        svc.update_role(admin, boss.id, None, NO_ADMIN)
    assert info.value.code == "last_admin"
    assert _active_admins(server, admin.company_id) == [admin.user_id]
    # over gRPC: the same code, FAILED_PRECONDITION
    token = server["auth"].Login(pb.LoginRequest(email=svc.get_user(admin, admin.user_id).email,
                                                 password=PW)).tokens.access_token
    code, body = _error(lambda: server["dir"].UpdateRole(pb.UpdateRoleRequest(
        id=boss.id, permissions=pb.Permissions(admin=False, edit_phone=True)), metadata=_md(token)))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and body["code"] == "last_admin", body
    # renaming it, or keeping admin, is fine
    assert svc.update_role(admin, boss.id, "Chief", None).name == "Chief"
    # a role nobody active holds may lose admin
    spare = svc.create_role(admin, "Spare", {"admin": True})
    assert not svc.update_role(admin, spare.id, None, NO_ADMIN).permissions["admin"]
    # with another active administrator (system role) left, the custom role may lose admin
    other = _new_user(server, admin, roles["Administrator"], group)
    assert not svc.update_role(admin, boss.id, None, NO_ADMIN).permissions["admin"]
    assert _active_admins(server, admin.company_id) == [other.id]


def test_a_role_held_by_the_only_admin_cannot_be_deleted(server):
    """Deleting a custom admin role that the only administrator holds is refused (role_in_use: users hold it)."""
    from crm_platform.errors import FailedPrecondition

    svc = server["svc"]
    admin, roles, group = _company(server)
    boss = svc.create_role(admin, "Boss", {"admin": True})
    svc.update_user(admin, admin.user_id, {"role_id": boss.id})
    with pytest.raises(FailedPrecondition) as info:
        svc.delete_role(admin, boss.id)
    assert info.value.code == "role_in_use"
    assert _active_admins(server, admin.company_id) == [admin.user_id]


def test_admin_taken_from_roles_at_once_leaves_an_admin(server):
    """Changes that each would leave the company without an administrator, made at the same moment:
    taking admin from two custom roles (one admin each); taking admin from a role while its last holder's
    colleague is deactivated; moving the only admin to a custom admin role while that role loses admin.
    The checks run one after the other, so exactly one change is refused with last_admin (or forbidden)."""
    from crm_platform.errors import FailedPrecondition, PermissionDenied

    svc = server["svc"]
    for i in range(9):
        admin, roles, group = _company(server)
        a = svc.create_role(admin, "A", {"admin": True})
        b = svc.create_role(admin, "B", {"admin": True})
        if i % 3 == 0:  # two admins, each the only holder of a custom admin role
            other = _new_user(server, admin, b.id, group)
            svc.update_user(admin, admin.user_id, {"role_id": a.id})
            calls = (lambda: svc.update_role(admin, a.id, None, NO_ADMIN),
                     lambda: svc.update_role(admin, b.id, None, NO_ADMIN))
        elif i % 3 == 1:  # the other admin (system role) deactivated while role A loses admin
            other = _new_user(server, admin, roles["Administrator"], group)
            svc.update_user(admin, admin.user_id, {"role_id": a.id})
            calls = (lambda: svc.update_role(admin, a.id, None, NO_ADMIN),
                     lambda: svc.deactivate_user(admin, other.id))
        else:  # the only admin moved to role A (admin) while A loses admin
            calls = (lambda: svc.update_role(admin, a.id, None, NO_ADMIN),
                     lambda: svc.update_user(admin, admin.user_id, {"role_id": a.id}))
        results = _at_once(*calls)
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1, (i, results)
        # last_admin; or forbidden when the acting admin's own role had just lost admin (rights read as stored)
        assert (type(refused[0]), refused[0].code) in ((FailedPrecondition, "last_admin"),
                                                        (PermissionDenied, "forbidden")), (i, results)
        assert len(_active_admins(server, admin.company_id)) == 1, i


def test_one_email_set_on_two_users_at_once_is_taken_once(server):
    """Two users given the same new e-mail at the same moment: one change passes, the other gets the
    answer a single request gets (email_taken, a conflict), not an IntegrityError."""
    from crm_platform.errors import Conflict

    svc = server["svc"]
    for _ in range(8):
        admin, roles, group = _company(server)
        u1, u2 = (_new_user(server, admin, roles["Manager"], group) for _ in range(2))
        email = f"{uuid.uuid4().hex[:12]}@t.uz"
        results = _at_once(lambda: svc.update_user(admin, u1.id, {"email": email}),
                           lambda: svc.update_user(admin, u2.id, {"email": email}))
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], Conflict), results
        assert refused[0].code == "email_taken" and refused[0].details == {"field": "email"}


def _unknown_reference(exc, field):
    from crm_platform.errors import FieldErrors

    return isinstance(exc, FieldErrors) and [(f["field"], f["code"]) for f in exc.fields] == \
        [(field, "unknown_reference")]


@pytest.mark.parametrize("kind", ["group", "role"])
def test_deleting_a_group_or_role_while_a_user_joins_it(server, kind):
    """A group (role) deleted while a user is moved into it (update_user) or created in it (create_user),
    at the same moment: either the delete wins and the user change answers unknown_reference, or the user
    change wins and the delete answers group_not_empty (role_in_use), as when they come one after the other;
    never an IntegrityError."""
    from crm_platform.errors import FailedPrecondition

    svc = server["svc"]
    field = f"{kind}_id"
    for i in range(8):
        admin, roles, group = _company(server)
        user = _new_user(server, admin, roles["Manager"], group)
        if kind == "group":
            target = svc.create_group(admin, "Sales")
            delete = lambda: svc.delete_group(admin, target.id)  # noqa: E731
        else:
            target = svc.create_role(admin, "Seller", {"edit_phone": True})
            delete = lambda: svc.delete_role(admin, target.id)  # noqa: E731
        if i % 2:
            join = lambda: svc.update_user(admin, user.id, {field: target.id})  # noqa: E731
        else:
            join = lambda: svc.create_user(  # noqa: E731
                admin, first_name="N", last_name="U", email=f"{uuid.uuid4().hex[:12]}@t.uz", password=PW,
                role_id=target.id if kind == "role" else roles["Manager"],
                group_id=target.id if kind == "group" else group)
        deleted, joined = _at_once(delete, join)
        if deleted is None:
            assert _unknown_reference(joined, field), (i, deleted, joined)
        else:
            assert isinstance(deleted, FailedPrecondition), (i, deleted, joined)
            assert deleted.code == ("group_not_empty" if kind == "group" else "role_in_use"), (i, deleted, joined)
            assert getattr(joined, field) == target.id, (i, deleted, joined)
