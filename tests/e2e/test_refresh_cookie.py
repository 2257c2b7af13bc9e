"""The web UI's session: the refresh token in an httpOnly cookie scoped to /api/v1/auth (issue 25)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from tests.support.system import sign_up, unique_email

PASSWORD = "cookie-pass-77"


def _cookie(resp) -> tuple[str, dict]:
    """The `crm_refresh` cookie a response sets: its value and attributes (lower-case names)."""
    headers = [v for k, v in resp.raw.headers.items() if k.lower() == "set-cookie"]
    assert len(headers) == 1, headers
    jar = SimpleCookie()
    jar.load(headers[0])
    morsel = jar["crm_refresh"]
    attrs = {k: v for k, v in morsel.items() if v}
    return morsel.value, attrs


def _with(token: str) -> dict:
    return {"Cookie": f"crm_refresh={token}"}


def test_login_puts_the_refresh_token_in_an_http_only_cookie_and_refresh_rotates_it(api):
    a = sign_up(api, password=PASSWORD)
    login = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PASSWORD,
                                                 "refresh_cookie": True})
    assert login.status_code == 200
    assert "refresh_token" not in login.json() and login.json()["access_token"]
    first, attrs = _cookie(login)
    assert attrs["path"] == "/api/v1/auth" and attrs["httponly"] and attrs["secure"]
    assert attrs["samesite"] == "Strict" and int(attrs["max-age"]) == 30 * 86400

    rotated = api.post("/api/v1/auth/refresh", json={}, headers=_with(first))
    assert rotated.status_code == 200 and "refresh_token" not in rotated.json()
    second, _ = _cookie(rotated)
    assert second != first
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {rotated.json()['access_token']}"}).ok
    # the old cookie is a reuse: the session ends, the newer cookie with it
    reuse = api.post("/api/v1/auth/refresh", json={}, headers=_with(first))
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "refresh_invalid"
    assert api.post("/api/v1/auth/refresh", json={}, headers=_with(second)).status_code == 401


def test_without_the_cookie_nothing_changes_for_api_clients(api):
    a = sign_up(api, password=PASSWORD)
    login = api.post("/api/v1/auth/login", json={"email": a["user"]["email"], "password": PASSWORD})
    assert login.json()["refresh_token"] and "set-cookie" not in {k.lower() for k in login.headers}
    body = api.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert body.status_code == 200 and body.json()["refresh_token"]
    assert "set-cookie" not in {k.lower() for k in body.headers}
    # neither a body token nor a cookie: 401 in the error format
    none = api.post("/api/v1/auth/refresh", json={})
    assert none.status_code == 401 and none.json()["error"]["code"] == "refresh_invalid"
    assert api.post("/api/v1/auth/refresh", json={}, headers=_with("x" * 201)).status_code == 401


def test_sign_up_with_the_cookie_and_logout_clears_it(api):
    email = unique_email()
    resp = api.post("/api/v1/signup", json={"company_name": "Cookie LLC", "first_name": "Ali", "last_name": "Valiev",
                                            "email": email, "password": PASSWORD, "refresh_cookie": True})
    assert resp.status_code == 201 and "refresh_token" not in resp.json()["tokens"]
    token, _ = _cookie(resp)
    out = api.post("/api/v1/auth/logout", json={}, headers=_with(token))
    assert out.status_code == 204
    cleared, attrs = _cookie(out)
    assert cleared == "" and attrs["path"] == "/api/v1/auth" and int(attrs["max-age"]) == 0
    assert api.post("/api/v1/auth/refresh", json={}, headers=_with(token)).status_code == 401
    # a logout with no session at all is still 204 and still clears
    assert api.post("/api/v1/auth/logout", json={}).status_code == 204
