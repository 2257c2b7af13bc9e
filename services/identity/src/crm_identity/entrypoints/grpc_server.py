"""gRPC servicers of identity: proto in, use case, proto out. No rules here."""

from __future__ import annotations

from crm.identity.v1 import identity_service_pb2 as pb
from crm.identity.v1 import identity_service_pb2_grpc as pb_grpc
from crm_platform.context import current_principal
from crm_platform.db import rfc3339
from crm_identity.domain import model
from crm_identity.service_layer.limits import caller_of

PUBLIC_METHODS = {f"/crm.identity.v1.AuthService/{m}" for m in
                  ("SignUp", "Login", "RefreshToken", "Logout", "ForgotPassword", "ResetPassword")}


def company_pb(c) -> pb.Company:
    return pb.Company(id=c.id, name=c.name, crm_id=model.format_crm_id(c.crm_id), time_zone=c.time_zone,
                      created_at=rfc3339(c.created_at), language=c.language)


def user_pb(u) -> pb.User:
    return pb.User(id=u.id, first_name=u.first_name, last_name=u.last_name, email=u.email, role_id=u.role_id,
                   group_id=u.group_id, active=u.active, created_at=rfc3339(u.created_at))


def role_pb(r) -> pb.Role:
    return pb.Role(id=r.id, name=r.name, permissions=pb.Permissions(**r.permissions), system=r.system)


def tokens_pb(t: dict) -> pb.TokenPair:
    return pb.TokenPair(**t)


def _perms(msg: pb.Permissions) -> dict:
    return {f.name: getattr(msg, f.name) for f in pb.Permissions.DESCRIPTOR.fields}


class AuthService(pb_grpc.AuthServiceServicer):
    """Sign-up, login, tokens and password reset."""

    def __init__(self, service):
        self.svc = service

    def SignUp(self, request, context):
        company, user, tokens = self.svc.sign_up(
            company_name=request.company_name, first_name=request.first_name, last_name=request.last_name,
            email=request.email, password=request.password, time_zone=request.time_zone,
            language=request.language)
        return pb.SignUpResponse(company=company_pb(company), user=user_pb(user), tokens=tokens_pb(tokens))

    def Login(self, request, context):
        return pb.LoginResponse(tokens=tokens_pb(self.svc.login(email=request.email, password=request.password,
                                                                crm_id=request.crm_id,
                                                                caller=caller_of(context.peer()))))

    def RefreshToken(self, request, context):
        return pb.RefreshTokenResponse(tokens=tokens_pb(self.svc.refresh(request.refresh_token)))

    def Logout(self, request, context):
        self.svc.logout(request.refresh_token)
        return pb.LogoutResponse()

    def ForgotPassword(self, request, context):
        self.svc.forgot_password(email=request.email, crm_id=request.crm_id, language=request.language,
                                 caller=caller_of(context.peer()))
        return pb.ForgotPasswordResponse()

    def ResetPassword(self, request, context):
        self.svc.reset_password(token=request.token, password=request.password, caller=caller_of(context.peer()))
        return pb.ResetPasswordResponse()

    def CheckSession(self, request, context):
        reason = self.svc.check_session(current_principal())
        return pb.CheckSessionResponse(active=not reason, reason=reason)


class DirectoryService(pb_grpc.DirectoryServiceServicer):
    """Users, groups and roles of the caller's company."""

    def __init__(self, service):
        self.svc = service

    def GetMe(self, request, context):
        user, role, company = self.svc.me(current_principal())
        return pb.GetMeResponse(user=user_pb(user), role=role_pb(role), company=company_pb(company))

    def ListUsers(self, request, context):
        users = self.svc.list_users(current_principal(), request.group_id, request.include_inactive)
        return pb.ListUsersResponse(users=[user_pb(u) for u in users])

    def GetUser(self, request, context):
        return pb.GetUserResponse(user=user_pb(self.svc.get_user(current_principal(), request.id)))

    def BatchGetUsers(self, request, context):
        users = self.svc.batch_get_users(current_principal(), list(request.ids))
        return pb.BatchGetUsersResponse(users=[user_pb(u) for u in users])

    def CreateUser(self, request, context):
        user = self.svc.create_user(current_principal(), first_name=request.first_name, last_name=request.last_name,
                                    email=request.email, password=request.password, role_id=request.role_id,
                                    group_id=request.group_id)
        return pb.CreateUserResponse(user=user_pb(user))

    def UpdateUser(self, request, context):
        changes = {f: getattr(request, f) for f in ("first_name", "last_name", "email", "role_id", "group_id",
                                                      "password") if request.HasField(f)}
        current = request.current_password if request.HasField("current_password") else None
        return pb.UpdateUserResponse(user=user_pb(self.svc.update_user(current_principal(), request.id, changes,
                                                                       current_password=current)))

    def DeactivateUser(self, request, context):
        return pb.DeactivateUserResponse(user=user_pb(self.svc.deactivate_user(current_principal(), request.id)))

    def ActivateUser(self, request, context):
        return pb.ActivateUserResponse(user=user_pb(self.svc.activate_user(current_principal(), request.id)))

    def ListGroups(self, request, context):
        return pb.ListGroupsResponse(groups=[pb.Group(id=g.id, name=g.name, user_count=n)
                                             for g, n in self.svc.list_groups(current_principal())])

    def CreateGroup(self, request, context):
        g = self.svc.create_group(current_principal(), request.name)
        return pb.CreateGroupResponse(group=pb.Group(id=g.id, name=g.name))

    def UpdateGroup(self, request, context):
        g, n = self.svc.update_group(current_principal(), request.id, request.name)
        return pb.UpdateGroupResponse(group=pb.Group(id=g.id, name=g.name, user_count=n))

    def DeleteGroup(self, request, context):
        self.svc.delete_group(current_principal(), request.id)
        return pb.DeleteGroupResponse()

    def ListRoles(self, request, context):
        return pb.ListRolesResponse(roles=[role_pb(r) for r in self.svc.list_roles(current_principal())])

    def CreateRole(self, request, context):
        return pb.CreateRoleResponse(role=role_pb(self.svc.create_role(current_principal(), request.name,
                                                                       _perms(request.permissions))))

    def UpdateRole(self, request, context):
        role = self.svc.update_role(current_principal(), request.id,
                                    request.name if request.HasField("name") else None,
                                    _perms(request.permissions) if request.HasField("permissions") else None)
        return pb.UpdateRoleResponse(role=role_pb(role))

    def DeleteRole(self, request, context):
        self.svc.delete_role(current_principal(), request.id)
        return pb.DeleteRoleResponse()
