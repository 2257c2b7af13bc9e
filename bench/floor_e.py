"""Floor E (issue 26): the least a request of this design can cost. One HTTP hop (Flask under the gateway's
gunicorn configuration), an Ed25519 JWT verified on every request, one gRPC unary call to another process
(grpcio, a generic handler on raw bytes: no protobuf, no interceptors) and one primary-key SELECT of a deal
there, in records' own database. Whatever the card costs beyond this is our code's.

`python bench/floor_e.py serve PORT DSN` runs the gRPC side; `gunicorn ... --chdir bench floor_e:app` the
HTTP side, configured by FLOOR_E_GRPC (host:port) and FLOOR_E_PUBLIC_KEY (PEM or path of the access key).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent import futures

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, abort, request

METHOD = "/floor.E/GetDeal"
AUDIENCE = "crm"  # crm_platform.auth.AUDIENCE, the access tokens' audience
SELECT = "SELECT id, title, amount, stage_id, responsible_id FROM deals WHERE id = {}"

# ---- the gRPC side ----------------------------------------------------------------------------------


def _connect(dsn: str):
    """A connection of this thread and the statement's parameter mark (psycopg 3 on PostgreSQL, else sqlite3)."""
    if dsn.startswith("postgresql"):
        import psycopg

        return psycopg.connect(dsn, autocommit=True, prepare_threshold=0), "%s"
    import sqlite3

    return sqlite3.connect(dsn, check_same_thread=False), "?"


def serve(port: int, dsn: str) -> None:
    local = threading.local()

    def get_deal(deal_id: bytes, _context) -> bytes:
        if not hasattr(local, "conn"):
            local.conn, mark = _connect(dsn)
            local.sql = SELECT.format(mark)
        row = local.conn.execute(local.sql, (deal_id.decode(),)).fetchone()
        return json.dumps(None if row is None else [str(v) for v in row]).encode()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "floor.E", {"GetDeal": grpc.unary_unary_rpc_method_handler(get_deal)})])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


# ---- the HTTP side ----------------------------------------------------------------------------------
app = Flask(__name__)
_state: dict = {}


def _setup() -> dict:
    if not _state:  # per gunicorn worker (after the fork: a gRPC channel must not cross it)
        raw = os.environ["FLOOR_E_PUBLIC_KEY"]
        pem = raw if raw.lstrip().startswith("-----") else open(raw).read()
        _state["key"] = serialization.load_pem_public_key(pem.encode())
        _state["call"] = grpc.insecure_channel(os.environ["FLOOR_E_GRPC"]).unary_unary(METHOD)
    return _state


@app.get("/floor-e/deals/<deal_id>")
def deal(deal_id: str):
    s = _setup()
    auth = request.headers.get("Authorization", "")
    try:
        jwt.decode(auth.removeprefix("Bearer "), s["key"], algorithms=["EdDSA"], audience=AUDIENCE)
    except jwt.PyJWTError:
        abort(401)
    row = json.loads(s["call"](deal_id.encode(), timeout=5))
    if row is None:
        abort(404)
    return Response(json.dumps({"id": row[0], "title": row[1], "amount": row[2], "stage_id": row[3],
                                "responsible_id": row[4]}), mimetype="application/json")


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(int(sys.argv[2]), sys.argv[3])
