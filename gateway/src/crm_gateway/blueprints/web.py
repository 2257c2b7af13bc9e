"""The web UI (F20, F21): the built single-page app from `web/` (`make venv` builds it into `web_dist/`).

`index.html` is answered for every UI route with `no-cache` (so a new release is picked up at once) and a
strict Content-Security-Policy (no inline scripts, no framing); the assets under `/assets/` carry a content
hash in their names and are cached for a year as immutable.
"""

from __future__ import annotations

import pathlib

from flask import Blueprint, Response, abort, current_app, send_from_directory

bp = Blueprint("web", __name__)

DIST = pathlib.Path(__file__).resolve().parent.parent / "web_dist"
# The first path segments the UI routes on the client (everything else stays the API's or a 404).
UI_ROOTS = ("login", "signup", "forgot", "reset", "board", "deals", "clients", "tasks", "reports", "settings")
CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
])
IMMUTABLE = "public, max-age=31536000, immutable"


def _secure(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def index(rest: str = "") -> Response:
    """The app's shell page for any UI route."""
    page = DIST / "index.html"
    if not page.is_file():
        resp = Response("The web UI is not built: run `make venv` (cd web && npm ci && npm run build).\n",
                        status=503, mimetype="text/plain")
    else:
        resp = Response(page.read_bytes(), mimetype="text/html")
        resp.headers["Cache-Control"] = "no-cache"
    return _secure(resp)


bp.add_url_rule("/", "index", index, methods=["GET"])
for root in UI_ROOTS:
    bp.add_url_rule(f"/{root}", f"ui_{root}", index, methods=["GET"])
    bp.add_url_rule(f"/{root}/<path:rest>", f"ui_{root}_sub", index, methods=["GET"])


@bp.get("/assets/<path:name>")
def asset(name: str):
    """A content-hashed build asset: cached for a year, never revalidated."""
    folder = DIST / "assets"
    if not (folder / name).is_file():
        abort(404)
    resp = send_from_directory(folder, name, max_age=31536000, conditional=True, etag=True)
    resp.headers["Cache-Control"] = IMMUTABLE
    return _secure(resp)


def _favicon():
    return current_app.response_class(status=204)


bp.add_url_rule("/favicon.ico", "favicon", _favicon, methods=["GET"])
