"""Least privilege in identity over real gRPC (SQLite and PostgreSQL): no escalation through user or role
management, rights checked as stored (not as a token was signed), a session check that notices changed
rights, one's own password changed only with the current one, new passwords of 8-30 characters and not
common, and identity's own limits on login, forgot and reset for callers that are not the gateway."""

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
from crm_identity.adapters.orm import RateBucket, Role
from crm_identity.entrypoints.grpc_server import PUBLIC_METHODS, AuthService, DirectoryService
from crm_identity.service_layer.limits import Limits
from crm_identity.service_layer.services import IdentityService

PW = "pass-1234"
LIMITS = Limits(login_per_account=4, login_per_caller=12, forgot_per_account=2, forgot_per_caller=50,
                reset_per_caller=5, password_check_per_user=3)


@pytest.fixture(scope="module")
def server(database_url, keys):
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    svc = IdentityService(db, TokenSigner(read_key(keys["access_private"])), limits=LIMITS)
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


@pytest.fixture(autouse=True)
def _fresh_limits(server):
    """Each test starts with full buckets (they are keyed by the caller, 127.0.0.1, for every test)."""
    with server["db"].session(write=True) as s:
        s.query(RateBucket).delete()


def _md(token):
    return [("authorization", f"Bearer {token}")]


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _email():
    return f"{uuid.uuid4().hex[:12]}@t.uz"


def _company(server):
    """A company: its admin's token, role ids by name, the group id and a helper that adds a user."""
    signup = server["auth"].SignUp(pb.SignUpRequest(company_name="Co", first_name="A", last_name="B",
                                                    email=_email(), password=PW, language="en"))
    admin = signup.tokens.access_token
    with server["db"].session(company_id=signup.company.id) as s:
        roles = {r.name: r.id for r in s.execute(select(Role)).scalars()}
    return {"admin": admin, "roles": roles, "group": signup.user.group_id, "admin_id": signup.user.id}


def _role(server, token, name, **perms):
    return server["dir"].CreateRole(pb.CreateRoleRequest(name=name, permissions=pb.Permissions(**perms)),
                                    metadata=_md(token)).role


def _user(server, co, role_id, token=None):
    """A user in `role_id`, logged in: (id, access token, refresh token)."""
    email = _email()
    user = server["dir"].CreateUser(pb.CreateUserRequest(first_name="U", last_name="V", email=email, password=PW,
                                                         role_id=role_id, group_id=co["group"]),
                                    metadata=_md(token or co["admin"])).user
    tokens = server["auth"].Login(pb.LoginRequest(email=email, password=PW)).tokens
    return user.id, tokens.access_token, tokens.refresh_token


def _forbidden(call, code="forbidden"):
    status, body = _error(call)
    assert status == grpc.StatusCode.PERMISSION_DENIED and body["code"] == code, body
    return body


def test_a_role_manager_cannot_grant_what_they_do_not_hold(server):
    co = _company(server)
    managers = _role(server, co["admin"], "Role managers", manage_roles=True, edit_phone=True)
    _, token, _ = _user(server, co, managers.id)
    d = server["dir"]
    # a new role with admin, or with a right the caller lacks
    body = _forbidden(lambda: _role(server, token, "Boss", admin=True))
    assert body["details"]["permission"] == "admin"
    _forbidden(lambda: _role(server, token, "Payers", manage_billing=True))
    # their own role given admin or a right they lack
    for perms in ({"admin": True}, {"manage_roles": True, "edit_phone": True, "manage_users": True}):
        _forbidden(lambda: d.UpdateRole(pb.UpdateRoleRequest(id=managers.id, permissions=pb.Permissions(**perms)),
                                        metadata=_md(token)))
    # another role's right they lack, turned on or off, and the administrator role
    payers = _role(server, co["admin"], "Payers", manage_billing=True)
    _forbidden(lambda: d.UpdateRole(pb.UpdateRoleRequest(id=payers.id, permissions=pb.Permissions()),
                                    metadata=_md(token)))
    _forbidden(lambda: d.UpdateRole(pb.UpdateRoleRequest(id=co["roles"]["Administrator"],
                                                         permissions=pb.Permissions(edit_phone=True)),
                                    metadata=_md(token)))
    roles = {r.id: r for r in d.ListRoles(pb.ListRolesRequest(), metadata=_md(co["admin"])).roles}
    assert not roles[managers.id].permissions.admin and not roles[managers.id].permissions.manage_users
    assert roles[payers.id].permissions.manage_billing
    # what they hold they may give, and a right of the role they lack stays as it was
    ok = d.UpdateRole(pb.UpdateRoleRequest(id=payers.id, permissions=pb.Permissions(manage_billing=True,
                                                                                    edit_phone=True)),
                      metadata=_md(token)).role
    assert ok.permissions.edit_phone and ok.permissions.manage_billing
    assert _role(server, token, "Callers", edit_phone=True).permissions.edit_phone


def test_a_user_manager_cannot_raise_anyone_above_themselves(server):
    co = _company(server)
    d = server["dir"]
    user_managers = _role(server, co["admin"], "User managers", manage_users=True)
    payers = _role(server, co["admin"], "Payers", manage_billing=True)
    me, token, _ = _user(server, co, user_managers.id)
    admin_role, manager_role = co["roles"]["Administrator"], co["roles"]["Manager"]
    new = dict(first_name="N", last_name="M", password=PW, group_id=co["group"])
    admin_email = d.GetMe(pb.GetMeRequest(), metadata=_md(co["admin"])).user.email
    # creating an administrator, or a user with a right the caller lacks
    _forbidden(lambda: d.CreateUser(pb.CreateUserRequest(email=_email(), role_id=admin_role, **new),
                                    metadata=_md(token)))
    _forbidden(lambda: d.CreateUser(pb.CreateUserRequest(email=_email(), role_id=manager_role, **new),
                                    metadata=_md(token)))  # the Manager role holds edit_phone
    # themselves given the admin role or a role with more rights
    for role_id in (admin_role, payers.id):
        _forbidden(lambda: d.UpdateUser(pb.UpdateUserRequest(id=me, role_id=role_id), metadata=_md(token)))
    # an administrator's password, e-mail, role or account
    for change in ({"password": "taken-over-1"}, {"email": _email()}, {"role_id": user_managers.id},
                   {"first_name": "X"}):
        _forbidden(lambda: d.UpdateUser(pb.UpdateUserRequest(id=co["admin_id"], **change), metadata=_md(token)))
    _forbidden(lambda: d.DeactivateUser(pb.DeactivateUserRequest(id=co["admin_id"]), metadata=_md(token)))
    assert server["auth"].Login(pb.LoginRequest(email=admin_email, password=PW)).tokens.access_token
    # within their rights, they manage users
    plain = _role(server, co["admin"], "Plain")
    created = d.CreateUser(pb.CreateUserRequest(email=_email(), role_id=plain.id, **new), metadata=_md(token)).user
    assert d.UpdateUser(pb.UpdateUserRequest(id=created.id, password="new-pass-12"),
                        metadata=_md(token)).user.id == created.id


def test_a_demoted_admins_token_is_refused_by_the_session_check_and_by_identity(server):
    co = _company(server)
    other_id, other, other_refresh = _user(server, co, co["roles"]["Administrator"])
    auth, d = server["auth"], server["dir"]
    assert auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(other)).active
    d.UpdateUser(pb.UpdateUserRequest(id=other_id, role_id=co["roles"]["Manager"]), metadata=_md(co["admin"]))
    check = auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(other))
    assert not check.active and check.reason == "rights_changed"
    # identity itself acts on the rights as stored, whatever the (still signed) token says
    _forbidden(lambda: _role(server, other, "Mine", admin=True))
    # a refresh gives a token with the current rights, which the check accepts
    fresh = auth.RefreshToken(pb.RefreshTokenRequest(refresh_token=other_refresh)).tokens.access_token
    assert auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(fresh)).active
    # a role's permissions changed: every holder's token is re-checked too
    helpers = _role(server, co["admin"], "Helpers", edit_phone=True)
    _, helper, _ = _user(server, co, helpers.id)
    d.UpdateRole(pb.UpdateRoleRequest(id=helpers.id, permissions=pb.Permissions(edit_phone=False)),
                 metadata=_md(co["admin"]))
    assert auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(helper)).reason == "rights_changed"


def test_ones_own_password_changes_only_with_the_current_one_and_ends_the_other_sessions(server):
    co = _company(server)
    me, token, refresh = _user(server, co, co["roles"]["Manager"])
    email = server["dir"].GetMe(pb.GetMeRequest(), metadata=_md(token)).user.email
    second = server["auth"].Login(pb.LoginRequest(email=email, password=PW)).tokens
    d, auth = server["dir"], server["auth"]
    _forbidden(lambda: d.UpdateUser(pb.UpdateUserRequest(id=me, password="next-pass-1"), metadata=_md(token)),
               "current_password_invalid")
    _forbidden(lambda: d.UpdateUser(pb.UpdateUserRequest(id=me, password="next-pass-1", current_password="wrong-1"),
                                    metadata=_md(token)), "current_password_invalid")
    d.UpdateUser(pb.UpdateUserRequest(id=me, password="next-pass-1", current_password=PW), metadata=_md(token))
    assert auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(token)).active  # this session goes on
    assert auth.RefreshToken(pb.RefreshTokenRequest(refresh_token=refresh)).tokens.access_token
    assert auth.CheckSession(pb.CheckSessionRequest(), metadata=_md(second.access_token)).reason == "session_ended"
    code, _ = _error(lambda: auth.RefreshToken(pb.RefreshTokenRequest(refresh_token=second.refresh_token)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert auth.Login(pb.LoginRequest(email=email, password="next-pass-1")).tokens.access_token
    # one's own e-mail too needs it (else a stolen token changes it, then resets the password)
    _forbidden(lambda: d.UpdateUser(pb.UpdateUserRequest(id=co["admin_id"], email=_email()),
                                    metadata=_md(co["admin"])), "current_password_invalid")
    # the checks of the current password are limited per user (a stolen token gets a few guesses)
    codes = []
    for _ in range(LIMITS.password_check_per_user + 1):
        codes.append(_error(lambda: d.UpdateUser(pb.UpdateUserRequest(id=me, password="other-pass-2",
                                                                      current_password="guess-123"),
                                                 metadata=_md(token)))[0])
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED, codes


@pytest.mark.parametrize("password, code", [("seven77", "too_short"), ("qwerty123", "password_common"),
                                            ("PASSWORD1", "password_common"), ("p" * 31, "too_long")])
def test_short_and_common_passwords_are_refused(server, password, code):
    co = _company(server)
    calls = {
        "sign-up": lambda: server["auth"].SignUp(pb.SignUpRequest(company_name="Co", first_name="A", last_name="B",
                                                                  email=_email(), password=password)),
        "create": lambda: server["dir"].CreateUser(pb.CreateUserRequest(
            first_name="A", last_name="B", email=_email(), password=password, role_id=co["roles"]["Manager"],
            group_id=co["group"]), metadata=_md(co["admin"])),
        "own change": lambda: server["dir"].UpdateUser(pb.UpdateUserRequest(
            id=co["admin_id"], password=password, current_password=PW), metadata=_md(co["admin"])),
        "reset": lambda: server["auth"].ResetPassword(pb.ResetPasswordRequest(token="t", password=password)),
    }
    for name, call in calls.items():
        status, body = _error(call)
        assert status == grpc.StatusCode.INVALID_ARGUMENT, (name, body)
        assert [(f["field"], f["code"]) for f in body["details"]["fields"]] == [("password", code)], (name, body)


def test_identity_limits_logins_per_account_and_per_caller_whoever_calls(server):
    auth = server["auth"]
    co = _company(server)
    email = server["dir"].GetMe(pb.GetMeRequest(), metadata=_md(co["admin"])).user.email
    ghost = _email()

    def attempts(address, n, password="wrong-pass"):
        out = []
        for _ in range(n):
            try:
                auth.Login(pb.LoginRequest(email=address, password=password))
                out.append("ok")
            except grpc.RpcError as exc:
                out.append(decode_error(exc.trailing_metadata())["code"])
        return out

    real, fake = attempts(email, LIMITS.login_per_account + 1), attempts(ghost, LIMITS.login_per_account + 1)
    assert real == fake == ["invalid_credentials"] * LIMITS.login_per_account + ["rate_limited"]
    # even the right password waits now; the answer says how long
    status, body = _error(lambda: auth.Login(pb.LoginRequest(email=email, password=PW)))
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED and body["details"]["retry_after"] >= 1
    # spraying many accounts from one caller hits the per-caller bucket
    sprayed = [attempts(_email(), 1)[0] for _ in range(LIMITS.login_per_caller)]
    assert "rate_limited" in sprayed and sprayed[0] == "invalid_credentials"


def test_identity_limits_forgot_and_reset_too(server):
    auth = server["auth"]
    email = _email()
    for _ in range(LIMITS.forgot_per_account):
        auth.ForgotPassword(pb.ForgotPasswordRequest(email=email))
    status, body = _error(lambda: auth.ForgotPassword(pb.ForgotPasswordRequest(email=email.upper())))
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED and body["code"] == "rate_limited"
    codes = [_error(lambda: auth.ResetPassword(pb.ResetPasswordRequest(token=uuid.uuid4().hex,
                                                                       password="next-pass-1")))[1]["code"]
             for _ in range(LIMITS.reset_per_caller + 1)]
    assert codes == ["reset_token_invalid"] * LIMITS.reset_per_caller + ["rate_limited"]


def test_a_bucket_refills_with_time(server):
    import time

    limiter = server["svc"].limiter
    name = f"test:{uuid.uuid4().hex}"
    started = time.monotonic()
    limiter.hit((name, 60))  # one a second
    for _ in range(59):
        limiter.hit((name, 60))
    with pytest.raises(Exception) as info:
        limiter.hit((name, 60))
    burst = time.monotonic() - started  # what the 61 attempts took refilled the bucket meanwhile
    assert info.value.code == "rate_limited" and info.value.details["retry_after"] >= 1
    time.sleep(2.1)  # the refused attempt took a token too (down to -1): two seconds give one back
    limiter.hit((name, 60))
    with server["db"].session() as s:
        assert s.get(RateBucket, name).tokens < 1 + burst
