"""Every gRPC call the gateway makes, one function each, each with a deadline.

Channels are created lazily in each gunicorn worker after fork (never in the master), with
keepalive and a service config that retries only idempotent methods on UNAVAILABLE.
"""

from __future__ import annotations

import os
import threading

import grpc
from flask import current_app, g
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm.identity.v1 import identity_service_pb2 as idpb
from crm.identity.v1 import identity_service_pb2_grpc as idgrpc
from crm_platform.rpc import call_metadata, make_channel, service_config

IDENTITY_SERVICES = ("crm.identity.v1.AuthService", "crm.identity.v1.DirectoryService")
IDENTITY_IDEMPOTENT = [("crm.identity.v1.DirectoryService", m) for m in
                       ("GetMe", "ListUsers", "GetUser", "BatchGetUsers", "ListGroups", "ListRoles")] + \
                      [("crm.identity.v1.AuthService", "CheckSession")]


class Backends:
    """The channels and stubs of one process."""

    def __init__(self, settings):
        self.settings = settings
        self._pid = None
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            s = self.settings
            self.identity_channel = make_channel(s.identity_addr, service_config(IDENTITY_SERVICES,
                                                                                 IDENTITY_IDEMPOTENT))
            self.auth = idgrpc.AuthServiceStub(self.identity_channel)
            self.directory = idgrpc.DirectoryServiceStub(self.identity_channel)
            self.health = {"identity": health_pb2_grpc.HealthStub(self.identity_channel)}
            self._pid = os.getpid()

    def __getattr__(self, name):
        if name.startswith("_") or name == "settings":
            raise AttributeError(name)
        self._ensure()
        return self.__dict__[name]


def backends() -> Backends:
    return current_app.extensions["crm"].backends


def _timeout() -> float:
    return current_app.extensions["crm"].settings.rpc_timeout


def _md():
    return call_metadata(getattr(g, "token", None))


def _call(method, request, timeout: float | None = None):
    # wait_for_ready: a call made while a service restarts waits for it (within the deadline)
    # instead of failing at once; the request is not sent before the connection is up.
    return method(request, timeout=timeout or _timeout(), metadata=_md(), wait_for_ready=True)


# ---- health --------------------------------------------------------------------------------
def health_check(stub, timeout: float = 1.0) -> bool:
    """Ask one service's grpc.health.v1 (through its stub) whether it is SERVING."""
    try:
        resp = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        return resp.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def health_stubs() -> dict:
    """The health stub of every service the gateway needs."""
    return dict(backends().health)


# ---- identity ------------------------------------------------------------------------------
def sign_up(**fields) -> idpb.SignUpResponse:
    return _call(backends().auth.SignUp, idpb.SignUpRequest(**fields), timeout=5)


def login(email: str, password: str, crm_id: str) -> idpb.LoginResponse:
    return _call(backends().auth.Login, idpb.LoginRequest(email=email, password=password, crm_id=crm_id), timeout=5)


def refresh(token: str) -> idpb.RefreshTokenResponse:
    return _call(backends().auth.RefreshToken, idpb.RefreshTokenRequest(refresh_token=token))


def logout(token: str) -> None:
    _call(backends().auth.Logout, idpb.LogoutRequest(refresh_token=token))


def forgot_password(email: str, crm_id: str, language: str) -> None:
    _call(backends().auth.ForgotPassword, idpb.ForgotPasswordRequest(email=email, crm_id=crm_id, language=language))


def reset_password(token: str, password: str) -> None:
    _call(backends().auth.ResetPassword, idpb.ResetPasswordRequest(token=token, password=password), timeout=5)


def check_session() -> bool:
    return _call(backends().auth.CheckSession, idpb.CheckSessionRequest()).active


def get_me() -> idpb.GetMeResponse:
    return _call(backends().directory.GetMe, idpb.GetMeRequest())


def list_users(group_id: str = "", include_inactive: bool = False) -> idpb.ListUsersResponse:
    return _call(backends().directory.ListUsers, idpb.ListUsersRequest(group_id=group_id,
                                                                       include_inactive=include_inactive))


def get_user(user_id: str) -> idpb.GetUserResponse:
    return _call(backends().directory.GetUser, idpb.GetUserRequest(id=user_id))


def batch_get_users(ids: list[str]) -> idpb.BatchGetUsersResponse:
    return _call(backends().directory.BatchGetUsers, idpb.BatchGetUsersRequest(ids=ids))


def create_user(**fields) -> idpb.CreateUserResponse:
    return _call(backends().directory.CreateUser, idpb.CreateUserRequest(**fields), timeout=5)


def update_user(user_id: str, **changes) -> idpb.UpdateUserResponse:
    return _call(backends().directory.UpdateUser, idpb.UpdateUserRequest(id=user_id, **changes), timeout=5)


def deactivate_user(user_id: str) -> idpb.DeactivateUserResponse:
    return _call(backends().directory.DeactivateUser, idpb.DeactivateUserRequest(id=user_id))


def list_groups() -> idpb.ListGroupsResponse:
    return _call(backends().directory.ListGroups, idpb.ListGroupsRequest())


def create_group(name: str) -> idpb.CreateGroupResponse:
    return _call(backends().directory.CreateGroup, idpb.CreateGroupRequest(name=name))


def update_group(group_id: str, name: str) -> idpb.UpdateGroupResponse:
    return _call(backends().directory.UpdateGroup, idpb.UpdateGroupRequest(id=group_id, name=name))


def delete_group(group_id: str) -> None:
    _call(backends().directory.DeleteGroup, idpb.DeleteGroupRequest(id=group_id))


def list_roles() -> idpb.ListRolesResponse:
    return _call(backends().directory.ListRoles, idpb.ListRolesRequest())


def create_role(name: str, permissions: dict) -> idpb.CreateRoleResponse:
    return _call(backends().directory.CreateRole, idpb.CreateRoleRequest(
        name=name, permissions=idpb.Permissions(**permissions)))


def update_role(role_id: str, name: str | None, permissions: dict | None) -> idpb.UpdateRoleResponse:
    req = idpb.UpdateRoleRequest(id=role_id)
    if name is not None:
        req.name = name
    if permissions is not None:
        req.permissions.CopyFrom(idpb.Permissions(**permissions))
    return _call(backends().directory.UpdateRole, req)


def delete_role(role_id: str) -> None:
    _call(backends().directory.DeleteRole, idpb.DeleteRoleRequest(id=role_id))
