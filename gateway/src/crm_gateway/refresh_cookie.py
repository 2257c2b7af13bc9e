"""The web UI's refresh token: an httpOnly cookie instead of script-readable storage.

A browser session survives new tabs and reloads only if the refresh token outlives the tab, and it must not
be readable by scripts (an XSS would otherwise carry the session away). So when the web UI logs in or signs
up with `refresh_cookie: true`, the gateway puts the refresh token in a cookie that is `HttpOnly`, `Secure`,
`SameSite=Strict` and scoped to `/api/v1/auth` (only refresh and logout ever see it) and leaves it out of
the JSON. A refresh or logout without a `refresh_token` in its body takes the cookie's; a refresh that used
the cookie answers with the rotated token in the cookie again. API clients that send the token in the body
get it in the body, as before, and no cookie.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from crm_gateway.errors import ApiError

NAME = "crm_refresh"
PATH = "/api/v1/auth"


def from_request(body_token: str) -> tuple[str, bool]:
    """The refresh token to use and whether it came from the cookie; 401 `refresh_invalid` with neither."""
    if body_token:
        return body_token, False
    cookie = request.cookies.get(NAME, "")
    if not cookie or len(cookie) > 200:
        raise ApiError(401, "refresh_invalid")
    return cookie, True


def answer(payload: dict, tokens: dict, in_cookie: bool, status: int = 200) -> Response:
    """A JSON response of `payload` whose `tokens` (tokens_json, inside it) lose the refresh token to the cookie
    when `in_cookie`."""
    refresh = tokens.pop("refresh_token") if in_cookie else ""
    resp = jsonify(payload)
    resp.status_code = status
    if in_cookie:
        settings = current_app.extensions["crm"].settings
        resp.set_cookie(NAME, refresh, max_age=settings.refresh_cookie_days * 86400, path=PATH,
                        secure=settings.refresh_cookie_secure, httponly=True, samesite="Strict")
    return resp


def clear(resp: Response) -> None:
    settings = current_app.extensions["crm"].settings
    resp.delete_cookie(NAME, path=PATH, secure=settings.refresh_cookie_secure, httponly=True, samesite="Strict")
