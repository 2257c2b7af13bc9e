"""Service identity inside the cluster: a service token names its caller and its one callee, carries no
rights, and passes only for the methods `crm_platform.service_calls` lists for that caller. Whoever runs
code in a pod that holds the service key (automation, records' consumer) signs what they like — these
are the tokens they could make, sent straight to the services' gRPC ports."""

from __future__ import annotations

import datetime as _dt
import pathlib
import uuid

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.identity.v1 import identity_service_pb2_grpc as igrpc
from crm.records.v1 import records_service_pb2 as rpb
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from tests.support.system import sign_up

pytestmark = pytest.mark.e2e


def _service_token(system, **claims) -> str:
    key = serialization.load_pem_private_key(pathlib.Path(system.env["SERVICE_TOKEN_PRIVATE_KEY"]).read_bytes(), None)
    now = _dt.datetime.now(_dt.timezone.utc)
    body = {"iss": "crm-automation", "typ": "service", "iat": now, "nbf": now, "exp": now + _dt.timedelta(minutes=5),
            "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(body, key, algorithm="EdDSA")


def _code(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def test_a_service_token_gets_only_what_its_caller_is_allowed(system, api):
    victim = sign_up(api)
    cid, admin = victim["company"]["id"], victim["user"]["id"]
    deal = victim["api"].post("/api/v1/deals", json={"title": "Kept"}).json()
    records = rgrpc.RecordsServiceStub(grpc.insecure_channel(system.env["RECORDS_GRPC_ADDR"]))
    identity = igrpc.DirectoryServiceStub(grpc.insecure_channel(system.env["IDENTITY_GRPC_ADDR"]))

    def md(token):
        return [("authorization", f"Bearer {token}")]

    # automation's own, as it signs them: creating a task for the company is what it may do
    automation = _service_token(system, aud="crm-records", svc="automation", sub=admin, cid=cid)
    task = records.CreateTask(rpb.CreateTaskRequest(type="call", due_at="2030-01-01T09:00:00Z", deal_id=deal["id"],
                                                    idempotency_key=uuid.uuid4().hex), metadata=md(automation),
                              timeout=10).task
    assert task.deal_id == deal["id"]
    # ... and nothing else, whatever rights the token claims
    forged = _service_token(system, aud="crm-records", svc="automation", sub=admin, cid=cid, perm=["admin"])
    assert _code(lambda: records.DeleteDeal(rpb.DeleteDealRequest(id=deal["id"]), metadata=md(forged),
                                            timeout=10)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: records.GetDeal(rpb.GetDealRequest(id=deal["id"]), metadata=md(forged),
                                         timeout=10)) == grpc.StatusCode.PERMISSION_DENIED
    # identity grants automation nothing: the victim's admin cannot be made through it
    to_identity = _service_token(system, aud="crm-identity", svc="automation", sub=admin, cid=cid, perm=["admin"])
    create = ipb.CreateUserRequest(first_name="Mal", last_name="Lory", email=f"m{uuid.uuid4().hex[:8]}@t.uz",
                                   password="Tr0ub4dor&3x", role_id="", group_id="")
    assert _code(lambda: identity.CreateUser(create, metadata=md(to_identity), timeout=10)) == \
        grpc.StatusCode.PERMISSION_DENIED
    # a token for records is not one for identity, and the old shared audience passes nowhere
    assert _code(lambda: identity.CreateUser(create, metadata=md(automation), timeout=10)) == \
        grpc.StatusCode.UNAUTHENTICATED
    shared = _service_token(system, aud="crm", svc="automation", sub=admin, cid=cid)
    assert _code(lambda: records.CreateTask(rpb.CreateTaskRequest(type="call", due_at="2030-01-01T09:00:00Z",
                                                                  deal_id=deal["id"]), metadata=md(shared),
                                            timeout=10)) == grpc.StatusCode.UNAUTHENTICATED
    # nothing changed: the deal is there, the company has its one user
    assert victim["api"].get(f"/api/v1/deals/{deal['id']}").status_code == 200
    assert [u["id"] for u in victim["api"].get("/api/v1/users").json()["items"]] == [admin]
