"""gRPC calls to identity, one function each, each with a deadline."""

from __future__ import annotations

from crm.identity.v1 import identity_service_pb2 as idpb
from crm.identity.v1 import identity_service_pb2_grpc as idgrpc
from crm_gateway.clients import call, register_backend, stub

register_backend(
    "identity", ("crm.identity.v1.AuthService", "crm.identity.v1.DirectoryService"),
    idempotent=[("crm.identity.v1.DirectoryService", m) for m in
                ("GetMe", "ListUsers", "GetUser", "BatchGetUsers", "ListGroups", "ListRoles")]
    + [("crm.identity.v1.AuthService", "CheckSession")])


def _auth() -> idgrpc.AuthServiceStub:
    return stub("identity", idgrpc.AuthServiceStub)


def _directory() -> idgrpc.DirectoryServiceStub:
    return stub("identity", idgrpc.DirectoryServiceStub)


def sign_up(**fields) -> idpb.SignUpResponse:
    return call(_auth().SignUp, idpb.SignUpRequest(**fields), timeout=5)


def login(email: str, password: str, crm_id: str) -> idpb.LoginResponse:
    return call(_auth().Login, idpb.LoginRequest(email=email, password=password, crm_id=crm_id), timeout=5)


def refresh(token: str) -> idpb.RefreshTokenResponse:
    return call(_auth().RefreshToken, idpb.RefreshTokenRequest(refresh_token=token))


def logout(token: str) -> None:
    call(_auth().Logout, idpb.LogoutRequest(refresh_token=token))


def forgot_password(email: str, crm_id: str, language: str) -> None:
    call(_auth().ForgotPassword, idpb.ForgotPasswordRequest(email=email, crm_id=crm_id, language=language))


def reset_password(token: str, password: str) -> None:
    call(_auth().ResetPassword, idpb.ResetPasswordRequest(token=token, password=password), timeout=5)


def check_session() -> str:
    """"" while the caller's token works, else why not (`session_ended`, `rights_changed`)."""
    resp = call(_auth().CheckSession, idpb.CheckSessionRequest())
    return "" if resp.active else (resp.reason or "session_ended")


def get_me() -> idpb.GetMeResponse:
    return call(_directory().GetMe, idpb.GetMeRequest())


def list_users(group_id: str = "", include_inactive: bool = False) -> idpb.ListUsersResponse:
    return call(_directory().ListUsers, idpb.ListUsersRequest(group_id=group_id,
                                                                       include_inactive=include_inactive))


def get_user(user_id: str) -> idpb.GetUserResponse:
    return call(_directory().GetUser, idpb.GetUserRequest(id=user_id))


def batch_get_users(ids: list[str]) -> idpb.BatchGetUsersResponse:
    return call(_directory().BatchGetUsers, idpb.BatchGetUsersRequest(ids=ids))


def create_user(**fields) -> idpb.CreateUserResponse:
    return call(_directory().CreateUser, idpb.CreateUserRequest(**fields), timeout=5)


def update_user(user_id: str, **changes) -> idpb.UpdateUserResponse:
    return call(_directory().UpdateUser, idpb.UpdateUserRequest(id=user_id, **changes), timeout=5)


def deactivate_user(user_id: str) -> idpb.DeactivateUserResponse:
    return call(_directory().DeactivateUser, idpb.DeactivateUserRequest(id=user_id))


def activate_user(user_id: str) -> idpb.ActivateUserResponse:
    return call(_directory().ActivateUser, idpb.ActivateUserRequest(id=user_id))


def list_groups() -> idpb.ListGroupsResponse:
    return call(_directory().ListGroups, idpb.ListGroupsRequest())


def create_group(name: str) -> idpb.CreateGroupResponse:
    return call(_directory().CreateGroup, idpb.CreateGroupRequest(name=name))


def update_group(group_id: str, name: str) -> idpb.UpdateGroupResponse:
    return call(_directory().UpdateGroup, idpb.UpdateGroupRequest(id=group_id, name=name))


def delete_group(group_id: str) -> None:
    call(_directory().DeleteGroup, idpb.DeleteGroupRequest(id=group_id))


def list_roles() -> idpb.ListRolesResponse:
    return call(_directory().ListRoles, idpb.ListRolesRequest())


def create_role(name: str, permissions: dict) -> idpb.CreateRoleResponse:
    return call(_directory().CreateRole, idpb.CreateRoleRequest(
        name=name, permissions=idpb.Permissions(**permissions)))


def update_role(role_id: str, name: str | None, permissions: dict | None) -> idpb.UpdateRoleResponse:
    req = idpb.UpdateRoleRequest(id=role_id)
    if name is not None:
        req.name = name
    if permissions is not None:
        req.permissions.CopyFrom(idpb.Permissions(**permissions))
    return call(_directory().UpdateRole, req)


def delete_role(role_id: str) -> None:
    call(_directory().DeleteRole, idpb.DeleteRoleRequest(id=role_id))
