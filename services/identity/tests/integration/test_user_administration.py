"""User administration over real gRPC (SQLite and PostgreSQL): a deactivated user reactivated (UserActivated in
the outbox for billing's seat count, idempotent), every refused reactivation changing nothing (no escalation: a
user manager never reactivates an administrator), and groups and roles in use refused with how many users."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sqlalchemy import select

from crm.identity.events.v1 import identity_events_pb2 as ev
from crm.identity.v1 import identity_service_pb2 as pb
from crm.identity.v1 import identity_service_pb2_grpc as pb_grpc
from crm_platform.auth import TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database
from crm_platform.errors import decode_error
from crm_platform.rpc import GrpcServer
from crm_identity.__main__ import MIGRATIONS
from crm_identity.adapters.orm import OUTBOX, Role, User
from crm_identity.entrypoints.grpc_server import PUBLIC_METHODS, AuthService, DirectoryService
from crm_identity.service_layer.services import IdentityService

PW = "pass-1234"
ACTIVATED = ev.UserActivated.DESCRIPTOR.full_name
UPDATED = ev.UserUpdated.DESCRIPTOR.full_name


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
    yield {"auth": pb_grpc.AuthServiceStub(channel), "dir": pb_grpc.DirectoryServiceStub(channel), "db": db}
    channel.close()
    srv.stop(1)
    db.dispose()


def _md(token):
    return [("authorization", f"Bearer {token}")]


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _email():
    return f"{uuid.uuid4().hex[:12]}@t.uz"


def _company(server):
    signup = server["auth"].SignUp(pb.SignUpRequest(company_name="Co", first_name="A", last_name="B",
                                                    email=_email(), password=PW, language="en"))
    with server["db"].session(company_id=signup.company.id) as s:
        roles = {r.name: r.id for r in s.execute(select(Role)).scalars()}
    return {"admin": signup.tokens.access_token, "roles": roles, "group": signup.user.group_id,
            "company_id": signup.company.id}


def _user(server, co, role_id, group_id=None, token=None):
    """A user in `role_id`: (id, e-mail, access token)."""
    email = _email()
    user = server["dir"].CreateUser(pb.CreateUserRequest(first_name="U", last_name="V", email=email, password=PW,
                                                         role_id=role_id, group_id=group_id or co["group"]),
                                    metadata=_md(token or co["admin"])).user
    return user.id, email, server["auth"].Login(pb.LoginRequest(email=email, password=PW)).tokens.access_token


def _role(server, co, name, **perms):
    return server["dir"].CreateRole(pb.CreateRoleRequest(name=name, permissions=pb.Permissions(**perms)),
                                    metadata=_md(co["admin"])).role.id


def _events(server, user_id) -> list[tuple[str, bytes]]:
    """The outbox rows of one user, oldest first: (event type, payload)."""
    with server["db"].session() as s:
        rows = s.execute(select(OUTBOX.c.event_type, OUTBOX.c.payload).where(OUTBOX.c.aggregate_id == user_id)
                         .order_by(OUTBOX.c.id)).all()
    return [(r.event_type, bytes(r.payload)) for r in rows]


def _stored(server, co, user_id) -> tuple[bool, object]:
    with server["db"].session(company_id=co["company_id"]) as s:
        user = s.get(User, user_id)
        return user.active, user.deactivated_at


def _deactivate(server, co, user_id):
    server["dir"].DeactivateUser(pb.DeactivateUserRequest(id=user_id), metadata=_md(co["admin"]))


def test_a_reactivated_user_is_announced_for_the_seat_logs_in_again_and_a_repeat_changes_nothing(server):
    co = _company(server)
    d, auth = server["dir"], server["auth"]
    user_id, email, _ = _user(server, co, co["roles"]["Manager"])
    _deactivate(server, co, user_id)
    assert _stored(server, co, user_id)[0] is False
    code, _ = _error(lambda: auth.Login(pb.LoginRequest(email=email, password=PW)))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    before = _events(server, user_id)
    assert [t for t, _ in before][-1] == ev.UserDeactivated.DESCRIPTOR.full_name

    user = d.ActivateUser(pb.ActivateUserRequest(id=user_id), metadata=_md(co["admin"])).user
    assert user.id == user_id and user.active
    assert _stored(server, co, user_id) == (True, None)
    after = _events(server, user_id)
    new = after[len(before):]
    assert [t for t, _ in new] == [ACTIVATED, UPDATED]
    activated = ev.UserActivated.FromString(new[0][1])
    assert activated.user_id == user_id and activated.metadata.company_id == co["company_id"]
    assert list(ev.UserUpdated.FromString(new[1][1]).changed_fields) == ["active"]
    assert auth.Login(pb.LoginRequest(email=email, password=PW)).tokens.access_token
    listed = {u.id: u.active for u in d.ListUsers(pb.ListUsersRequest(), metadata=_md(co["admin"])).users}
    assert listed[user_id] is True

    # idempotent: an active user is answered as is, and nothing more is published
    again = d.ActivateUser(pb.ActivateUserRequest(id=user_id), metadata=_md(co["admin"])).user
    assert again.active and _events(server, user_id) == after
    # deactivated and reactivated once more: one more pair of events each way
    _deactivate(server, co, user_id)
    d.ActivateUser(pb.ActivateUserRequest(id=user_id), metadata=_md(co["admin"]))
    assert [t for t, _ in _events(server, user_id)[len(after):]] == [
        ev.UserDeactivated.DESCRIPTOR.full_name, ACTIVATED, UPDATED]


def test_refused_reactivations_change_nothing(server):
    co = _company(server)
    other = _company(server)
    d, auth = server["dir"], server["auth"]
    user_managers = _role(server, co, "User managers", manage_users=True)
    plain = _role(server, co, "Plain")
    manager_id, _, manager = _user(server, co, user_managers)
    _, _, nobody = _user(server, co, plain)
    admin_id, admin_email, _ = _user(server, co, co["roles"]["Administrator"])
    plain_id, plain_email, _ = _user(server, co, plain)
    payer_id, _, _ = _user(server, co, _role(server, co, "Payers", manage_billing=True))
    for uid in (admin_id, plain_id, payer_id):
        _deactivate(server, co, uid)
    snapshot = {uid: (_stored(server, co, uid), _events(server, uid)) for uid in (admin_id, plain_id, payer_id)}

    def refused(token, user_id, status, code, permission=None):
        got, body = _error(lambda: d.ActivateUser(pb.ActivateUserRequest(id=user_id), metadata=_md(token)))
        assert (got, body["code"]) == (status, code), body
        if permission:
            assert body["details"]["permission"] == permission, body

    # a user manager reactivates neither an administrator nor a user with a right they lack
    refused(manager, admin_id, grpc.StatusCode.PERMISSION_DENIED, "forbidden", "admin")
    refused(manager, payer_id, grpc.StatusCode.PERMISSION_DENIED, "forbidden", "manage_billing")
    # a user without manage_users reactivates nobody
    refused(nobody, plain_id, grpc.StatusCode.PERMISSION_DENIED, "forbidden", "manage_users")
    # another company's administrator, and an id nobody has: the same 404
    refused(other["admin"], plain_id, grpc.StatusCode.NOT_FOUND, "user_not_found")
    refused(co["admin"], str(uuid.uuid4()), grpc.StatusCode.NOT_FOUND, "user_not_found")
    # a user manager whose role lost manage_users since their token was signed acts with the stored rights
    d.UpdateRole(pb.UpdateRoleRequest(id=user_managers, permissions=pb.Permissions()), metadata=_md(co["admin"]))
    refused(manager, plain_id, grpc.StatusCode.PERMISSION_DENIED, "forbidden", "manage_users")
    for uid, (stored, events) in snapshot.items():
        assert _stored(server, co, uid) == stored and stored[0] is False, uid
        assert _events(server, uid) == events, uid
    for email in (admin_email, plain_email):
        code, _ = _error(lambda: auth.Login(pb.LoginRequest(email=email, password=PW)))
        assert code == grpc.StatusCode.UNAUTHENTICATED
    # within their rights a user manager reactivates; an administrator reactivates an administrator
    d.UpdateRole(pb.UpdateRoleRequest(id=user_managers, permissions=pb.Permissions(manage_users=True)),
                 metadata=_md(co["admin"]))
    manager = auth.Login(pb.LoginRequest(email=d.GetUser(pb.GetUserRequest(id=manager_id),
                                                         metadata=_md(co["admin"])).user.email,
                                         password=PW)).tokens.access_token
    assert d.ActivateUser(pb.ActivateUserRequest(id=plain_id), metadata=_md(manager)).user.active
    assert d.ActivateUser(pb.ActivateUserRequest(id=admin_id), metadata=_md(co["admin"])).user.active
    assert [t for t, _ in _events(server, admin_id)[len(snapshot[admin_id][1]):]] == [ACTIVATED, UPDATED]


def test_groups_and_roles_in_use_are_refused_with_the_number_of_users_and_renamed_freely(server):
    co = _company(server)
    d = server["dir"]
    admin = _md(co["admin"])
    group = d.CreateGroup(pb.CreateGroupRequest(name="Sales"), metadata=admin).group
    role = _role(server, co, "Callers", edit_phone=True)
    first, _, _ = _user(server, co, role, group.id)
    second, _, _ = _user(server, co, role, group.id)
    _deactivate(server, co, second)

    renamed = d.UpdateGroup(pb.UpdateGroupRequest(id=group.id, name="Sales East"), metadata=admin).group
    assert (renamed.name, renamed.user_count) == ("Sales East", 1)  # the active users, as the list counts
    assert d.UpdateRole(pb.UpdateRoleRequest(id=role, name="Callers East"), metadata=admin).role.name == "Callers East"

    # both users hold the group and the role, the deactivated one too (it may be reactivated)
    for call, code in ((lambda: d.DeleteGroup(pb.DeleteGroupRequest(id=group.id), metadata=admin), "group_not_empty"),
                       (lambda: d.DeleteRole(pb.DeleteRoleRequest(id=role), metadata=admin), "role_in_use")):
        status, body = _error(call)
        assert status == grpc.StatusCode.FAILED_PRECONDITION and body["code"] == code, body
        assert body["details"]["users"] == 2, body
    groups = {g.id: (g.name, g.user_count) for g in d.ListGroups(pb.ListGroupsRequest(), metadata=admin).groups}
    assert groups[group.id] == ("Sales East", 1)
    roles = {r.id: r.name for r in d.ListRoles(pb.ListRolesRequest(), metadata=admin).roles}
    assert roles[role] == "Callers East"

    # one user left in each: the count says so
    d.UpdateUser(pb.UpdateUserRequest(id=first, group_id=co["group"], role_id=co["roles"]["Manager"]), metadata=admin)
    for call in (lambda: d.DeleteGroup(pb.DeleteGroupRequest(id=group.id), metadata=admin),
                 lambda: d.DeleteRole(pb.DeleteRoleRequest(id=role), metadata=admin)):
        assert _error(call)[1]["details"]["users"] == 1
    # none left: both go
    d.UpdateUser(pb.UpdateUserRequest(id=second, group_id=co["group"], role_id=co["roles"]["Manager"]), metadata=admin)
    d.DeleteGroup(pb.DeleteGroupRequest(id=group.id), metadata=admin)
    d.DeleteRole(pb.DeleteRoleRequest(id=role), metadata=admin)
    assert group.id not in {g.id for g in d.ListGroups(pb.ListGroupsRequest(), metadata=admin).groups}
    assert role not in {r.id for r in d.ListRoles(pb.ListRolesRequest(), metadata=admin).roles}
    # renaming or deleting what is gone: 404
    status, body = _error(lambda: d.UpdateGroup(pb.UpdateGroupRequest(id=group.id, name="X"), metadata=admin))
    assert (status, body["code"]) == (grpc.StatusCode.NOT_FOUND, "group_not_found")
    status, body = _error(lambda: d.DeleteRole(pb.DeleteRoleRequest(id=role), metadata=admin))
    assert (status, body["code"]) == (grpc.StatusCode.NOT_FOUND, "role_not_found")
