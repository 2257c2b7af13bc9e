"""Identity resources: sign-up, login and tokens, password reset, me, users, groups and roles."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, jsonify, make_response, request
from pydantic import BaseModel, Field

from crm_gateway import refresh_cookie
from crm_gateway.clients import identity as clients
from crm_gateway.api import Api, Schema
from crm_gateway.errors import language
from crm_gateway.schemas import Email30

bp = Blueprint("identity", __name__)
api = Api(bp, "identity")

Name30 = Field(min_length=1, max_length=30)
# A company's language (api.md: sign-up `language`, `GET /me` `company.language`)
Language = Literal["ru", "uz", "en"]
PASSWORD_RULE = ("8 to 30 characters, not one of the 10,000 most common passwords (422 `too_short`, `too_long`, "
                 "`password_common` on the field)")
NewPassword = Field(min_length=8, max_length=30, description=PASSWORD_RULE)
COOKIE_DOC = ("The web UI's way: the refresh token goes into an httpOnly, Secure, SameSite=Strict cookie "
              "`crm_refresh` scoped to /api/v1/auth instead of the JSON (refresh and logout then take it from there)")


# ---- schemas -------------------------------------------------------------------------------
class Permissions(BaseModel):
    admin: bool = False
    edit_phone: bool = False
    manage_users: bool = False
    manage_funnels: bool = False
    manage_processes: bool = False
    restore_records: bool = False
    manage_roles: bool = False
    manage_billing: bool = False
    view_reports: bool = False


class CompanyOut(BaseModel):
    id: str
    name: str
    crm_id: str = Field(description="Short public id shared by every user of the company", examples=["K7M2-Q9XD"])
    time_zone: str
    created_at: str
    language: Language = Field(description="The language the company's roles, group, funnels, stages and task "
                                           "types were seeded in (companies from before languages: `en`)")


class UserOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str
    role_id: str
    group_id: str
    active: bool
    created_at: str


class RoleOut(BaseModel):
    id: str
    name: str
    permissions: Permissions
    system: bool


class UserGroupOut(BaseModel):
    id: str
    name: str
    user_count: int


class Tokens(BaseModel):
    access_token: str
    refresh_token: str | None = Field(None, description="Absent when it went into the httpOnly `crm_refresh` "
                                                         "cookie instead (`refresh_cookie: true`, or a refresh "
                                                         "that used the cookie)")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class SignUpIn(Schema):
    company_name: str = Field(min_length=1, max_length=200)
    first_name: str = Name30
    last_name: str = Name30
    email: Email30
    password: str = NewPassword
    time_zone: str = Field("Asia/Tashkent", min_length=1, max_length=64,
                           json_schema_extra={"pattern": r"^ *[A-Za-z0-9_+/-]+ *$"},
                           description="An IANA time zone of identity's time zone database, e.g. Asia/Tashkent "
                                       "(422 `invalid_time_zone` for a name it does not hold)")
    language: Language = Field("ru", description="The language of the company's seeded names (roles, group, "
                                                 "funnels, stages, task types): `ru` (default), `uz` (Uzbek, Latin "
                                                 "script) or `en`; 422 `invalid_choice` for another")
    refresh_cookie: bool = Field(False, description=COOKIE_DOC)


class SignUpOut(BaseModel):
    company: CompanyOut
    user: UserOut
    tokens: Tokens


class LoginIn(Schema):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=200)
    crm_id: str = Field("", max_length=16, description="Needed when the e-mail is in several CRMs")
    refresh_cookie: bool = Field(False, description=COOKIE_DOC)


class RefreshIn(Schema):
    refresh_token: str = Field("", max_length=200, description="Empty or absent: the `crm_refresh` cookie's")


class ForgotIn(Schema):
    email: str = Field(min_length=1, max_length=320)
    crm_id: str = Field("", max_length=16)


class ResetIn(Schema):
    token: str = Field(min_length=1, max_length=200)
    password: str = NewPassword


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class MeOut(BaseModel):
    user: UserOut
    role: RoleOut
    company: CompanyOut


class UserIn(Schema):
    first_name: str = Name30
    last_name: str = Name30
    email: Email30
    password: str = NewPassword
    role_id: str = Field(min_length=1, max_length=64)
    group_id: str = Field(min_length=1, max_length=64)


class UserPatch(Schema):
    first_name: str | None = Field(None, min_length=1, max_length=30)
    last_name: str | None = Field(None, min_length=1, max_length=30)
    email: Email30 | None = None
    password: str | None = Field(None, min_length=8, max_length=30, description=PASSWORD_RULE)
    role_id: str | None = Field(None, min_length=1, max_length=64)
    group_id: str | None = Field(None, min_length=1, max_length=64)
    current_password: str | None = Field(None, min_length=1, max_length=200,
                                         description="Your current password: needed to change your own password "
                                                     "or e-mail (403 `current_password_invalid` without it)")


class UserQuery(Schema):
    group_id: str = Field("", max_length=64)
    include_inactive: bool = False


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = None


class UserGroupIn(Schema):
    name: str = Field(min_length=1, max_length=100)


class UserGroupList(BaseModel):
    items: list[UserGroupOut]
    next_cursor: str | None = None


class RoleIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    permissions: Permissions = Field(default_factory=Permissions)


class RolePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    permissions: Permissions | None = None


class RoleList(BaseModel):
    items: list[RoleOut]
    next_cursor: str | None = None


class CrmChoice(BaseModel):
    crm_id: str
    company_name: str


# ---- proto -> JSON -------------------------------------------------------------------------
def company_json(c) -> dict:
    return {"id": c.id, "name": c.name, "crm_id": c.crm_id, "time_zone": c.time_zone, "created_at": c.created_at,
            "language": c.language or "en"}


def user_json(u) -> dict:
    return {"id": u.id, "first_name": u.first_name, "last_name": u.last_name, "email": u.email,
            "role_id": u.role_id, "group_id": u.group_id, "active": u.active, "created_at": u.created_at}


def role_json(r) -> dict:
    return {"id": r.id, "name": r.name, "system": r.system,
            "permissions": {f.name: getattr(r.permissions, f.name) for f in r.permissions.DESCRIPTOR.fields}}


def tokens_json(t) -> dict:
    return {"access_token": t.access_token, "refresh_token": t.refresh_token, "token_type": "Bearer",
            "expires_in": t.expires_in}


def _limits():
    ext = current_app.extensions["crm"]
    return ext.limiter, ext.settings


def _client_ip() -> str:
    return request.remote_addr or "unknown"


# ---- auth ----------------------------------------------------------------------------------
@api.operation("POST", "/api/v1/signup", "Sign up a company with its first admin", body=SignUpIn,
               response=SignUpOut, status=201, auth=False, errors=(409,),
               example={"company_name": "Acme", "first_name": "Aziz", "last_name": "Karimov",
                        "email": "aziz@acme.uz", "password": "s3cret-pass", "language": "ru"},
               codes={409: ("email_taken",)})
def signup(body: SignUpIn):
    limiter, settings = _limits()
    limiter.hit(f"signup:ip:{_client_ip()}", settings.signup_per_ip_per_minute)
    resp = clients.sign_up(**body.model_dump(exclude={"refresh_cookie"}))
    tokens = tokens_json(resp.tokens)
    return refresh_cookie.answer({"company": company_json(resp.company), "user": user_json(resp.user),
                                  "tokens": tokens}, tokens, body.refresh_cookie, 201)


@api.operation("POST", "/api/v1/auth/login", "Log in with e-mail and password", body=LoginIn, response=Tokens,
               auth=False, errors=(401, 409), example={"email": "aziz@acme.uz", "password": "s3cret-pass"},
               description="When the e-mail and password match in several CRMs the answer is 409 "
                           "`crm_id_required` with `details.choices` (crm_id, company_name).",
               codes={401: ("invalid_credentials",), 409: ("crm_id_required",)})
def login(body: LoginIn):
    limiter, settings = _limits()
    limiter.hit(f"login:ip:{_client_ip()}", settings.login_per_ip_per_minute)
    limiter.hit(f"login:acct:{body.email.strip().lower()}", settings.login_per_account_per_minute)
    tokens = tokens_json(clients.login(body.email, body.password, body.crm_id).tokens)
    return refresh_cookie.answer(tokens, tokens, body.refresh_cookie)


@api.operation("POST", "/api/v1/auth/refresh", "Rotate a refresh token", body=RefreshIn, response=Tokens,
               auth=False, errors=(401,), body_required=False,
               codes={401: ("refresh_invalid",)})
def refresh(body: RefreshIn):
    limiter, settings = _limits()
    limiter.hit(f"refresh:ip:{_client_ip()}", settings.login_per_ip_per_minute * 4)
    token, in_cookie = refresh_cookie.from_request(body.refresh_token)
    tokens = tokens_json(clients.refresh(token).tokens)
    return refresh_cookie.answer(tokens, tokens, in_cookie)


@api.operation("POST", "/api/v1/auth/logout", "Revoke the session of a refresh token", body=RefreshIn,
               status=204, auth=False, body_required=False,
               description="The token of the body, else the `crm_refresh` cookie's; the cookie is cleared either "
                           "way. 204 also when there is no session to end.")
def logout(body: RefreshIn):
    token = body.refresh_token or request.cookies.get(refresh_cookie.NAME, "")
    if token and len(token) <= 200:
        clients.logout(token)
    out = make_response("", 204)
    refresh_cookie.clear(out)
    return out


@api.operation("POST", "/api/v1/auth/password/forgot", "Send a password reset link", body=ForgotIn,
               response=Accepted, status=202, auth=False,
               description="Always 202 with the same body, whether or not the e-mail exists.")
def forgot(body: ForgotIn):
    limiter, settings = _limits()
    limiter.hit(f"forgot:ip:{_client_ip()}", settings.forgot_per_ip_per_minute)
    limiter.hit(f"forgot:acct:{body.email.strip().lower()}", settings.forgot_per_account_per_minute)
    clients.forgot_password(body.email, body.crm_id, language())
    return jsonify({"status": "accepted"}), 202


@api.operation("POST", "/api/v1/auth/password/reset", "Set a new password with a reset token", body=ResetIn,
               status=204, auth=False, errors=(422,),
               codes={422: ("reset_token_invalid",)})
def reset(body: ResetIn):
    limiter, settings = _limits()
    limiter.hit(f"reset:ip:{_client_ip()}", settings.reset_per_ip_per_minute)
    clients.reset_password(body.token, body.password)
    return "", 204


# ---- me, users, groups, roles ----------------------------------------------------------------
@api.operation("GET", "/api/v1/me", "The current user, role with permissions, and company (with CRM ID)",
               response=MeOut)
def me():
    resp = clients.get_me()
    return jsonify({"user": user_json(resp.user), "role": role_json(resp.role), "company": company_json(resp.company)})


@api.operation("GET", "/api/v1/users", "List users", query=UserQuery, response=UserList)
def list_users(query: UserQuery):
    users = clients.list_users(query.group_id, query.include_inactive).users
    return jsonify({"items": [user_json(u) for u in users], "next_cursor": None})


@api.operation("POST", "/api/v1/users", "Create a user (admin)", body=UserIn, response=UserOut, status=201,
               errors=(403, 409), permission="manage_users",
               description="The role must be within the caller's rights (403 `forbidden`): only an administrator "
                           "creates an administrator.",
               codes={409: ("email_taken",)})
def create_user(body: UserIn):
    return jsonify(user_json(clients.create_user(**body.model_dump()).user)), 201


@api.operation("GET", "/api/v1/users/{id}", "Get a user", response=UserOut,
               codes={404: ("user_not_found",)})
def get_user(id: str):  # noqa: A002 - the path parameter's name
    return jsonify(user_json(clients.get_user(id).user))


@api.operation("PATCH", "/api/v1/users/{id}", "Edit a user (admin; anyone for their own names and password)",
               body=UserPatch, response=UserOut, errors=(403, 409),
               description="A user manager edits only users whose rights are within their own, and gives only "
                           "roles within their own rights (403 `forbidden`). Changing your own password or "
                           "e-mail needs `current_password` (403 `current_password_invalid`); a new own "
                           "password ends your other sessions.",
               codes={403: ("current_password_invalid",), 404: ("user_not_found",),
                      409: ("email_taken", "last_admin")})
def update_user(id: str, body: UserPatch):  # noqa: A002
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return jsonify(user_json(clients.update_user(id, **changes).user))


@api.operation("DELETE", "/api/v1/users/{id}", "Deactivate a user (admin)", response=UserOut,
               errors=(403, 409), permission="manage_users",
               description="The user's sessions end at once and their seat is freed (billing's `active_users` "
                           "goes down within seconds). Only users within the caller's rights (403 `forbidden`); "
                           "a deactivated user is answered as is.",
               codes={404: ("user_not_found",), 409: ("last_admin",)})
def deactivate_user(id: str):  # noqa: A002
    return jsonify(user_json(clients.deactivate_user(id).user))


@api.operation("POST", "/api/v1/users/{id}/activate", "Reactivate a deactivated user (admin)", response=UserOut,
               errors=(403,), permission="manage_users",
               description="The user logs in again and takes a seat again (billing's `active_users` goes up within "
                           "seconds). Only users within the caller's rights (403 `forbidden`): only an "
                           "administrator reactivates an administrator. An active user is answered as is.",
               codes={404: ("user_not_found",)})
def activate_user(id: str):  # noqa: A002
    return jsonify(user_json(clients.activate_user(id).user))


@api.operation("GET", "/api/v1/groups", "List groups", response=UserGroupList)
def list_groups():
    groups = clients.list_groups().groups
    return jsonify({"items": [{"id": x.id, "name": x.name, "user_count": x.user_count} for x in groups],
                    "next_cursor": None})


@api.operation("POST", "/api/v1/groups", "Create a group (admin)", body=UserGroupIn, response=UserGroupOut, status=201,
               errors=(403,), permission="manage_users")
def create_group(body: UserGroupIn):
    x = clients.create_group(body.name).group
    return jsonify({"id": x.id, "name": x.name, "user_count": 0}), 201


@api.operation("PATCH", "/api/v1/groups/{id}", "Rename a group (admin)", body=UserGroupIn, response=UserGroupOut,
               errors=(403,), permission="manage_users",
               codes={404: ("group_not_found",)})
def update_group(id: str, body: UserGroupIn):  # noqa: A002
    x = clients.update_group(id, body.name).group
    return jsonify({"id": x.id, "name": x.name, "user_count": x.user_count})


@api.operation("DELETE", "/api/v1/groups/{id}", "Delete an empty group (admin)", status=204,
               errors=(403, 409), permission="manage_users",
               description="409 `group_not_empty` while users (deactivated ones too) are in it; "
                           "`details.users` is how many.",
               codes={404: ("group_not_found",), 409: ("group_not_empty",)})
def delete_group(id: str):  # noqa: A002
    clients.delete_group(id)
    return "", 204


@api.operation("GET", "/api/v1/roles", "List roles with their permissions", response=RoleList)
def list_roles():
    return jsonify({"items": [role_json(r) for r in clients.list_roles().roles], "next_cursor": None})


@api.operation("POST", "/api/v1/roles", "Create a role (admin)", body=RoleIn, response=RoleOut, status=201,
               errors=(403,), permission="manage_roles",
               description="Only rights the caller holds can be turned on (403 `forbidden`).")
def create_role(body: RoleIn):
    return jsonify(role_json(clients.create_role(body.name, body.permissions.model_dump()).role)), 201


@api.operation("PATCH", "/api/v1/roles/{id}", "Rename a role or change its permissions (admin)", body=RolePatch,
               response=RoleOut, errors=(403, 409), permission="manage_roles",
               description="Only toggles the caller holds can be changed (403 `forbidden`): only an administrator "
                           "grants or takes `admin`. Users of the role get 401 `rights_changed` within a second "
                           "and a refreshed token with the new rights.",
               codes={404: ("role_not_found",), 409: ("role_protected", "last_admin")})
def update_role(id: str, body: RolePatch):  # noqa: A002
    perms = body.permissions.model_dump() if body.permissions is not None else None
    return jsonify(role_json(clients.update_role(id, body.name, perms).role))


@api.operation("DELETE", "/api/v1/roles/{id}", "Delete a role no user has (admin)", status=204,
               errors=(403, 409), permission="manage_roles",
               description="409 `role_in_use` while users (deactivated ones too) have it, with `details.users` "
                           "(how many); 409 `role_protected` for the administrator role.",
               codes={404: ("role_not_found",), 409: ("role_protected", "role_in_use")})
def delete_role(id: str):  # noqa: A002
    clients.delete_role(id)
    return "", 204
