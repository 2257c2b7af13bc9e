"""Records over real gRPC with real neighbours: identity and pipeline run as their own processes
(`python -m crm_<svc> all` on free ports, SQLite files, the session broker); records runs in this
process on the `database_url` database (SQLite and PostgreSQL) so tests can look into it."""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
import subprocess
import sys
import uuid

import grpc
import pytest

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.identity.v1 import identity_service_pb2_grpc as igrpc
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from crm_platform.auth import TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database
from crm_platform.idempotency import IdempotencyStore
from crm_platform.rpc import GrpcServer
from crm_records.__main__ import MIGRATIONS
from crm_records.adapters.directory import StageDirectory, UserDirectory
from crm_records.adapters.orm import PLATFORM
from crm_records.entrypoints.grpc_server import RecordsService as RecordsServicer
from crm_records.service_layer.services import RecordsService
from tests.support.infra import ROOT, free_port, wait_for


def _healthy(port: int) -> bool:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        try:
            return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1
        except grpc.RpcError:
            return False


@pytest.fixture(scope="session")
def neighbours(broker, keys, tmp_path_factory):
    """identity and pipeline processes; yields their addresses."""
    folder = pathlib.Path(tmp_path_factory.mktemp("neighbours"))
    ports = {"identity": free_port(), "pipeline": free_port()}
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "AUTH_PUBLIC_KEY": keys["access_public"],
           "AUTH_PRIVATE_KEY": keys["access_private"], "SERVICE_TOKEN_PUBLIC_KEY": keys["service_public"],
           "SERVICE_TOKEN_PRIVATE_KEY": keys["service_private"], "SMTP_PORT": str(free_port())}
    procs = []
    for name, port in ports.items():
        up = name.upper()
        env.update({f"{up}_GRPC_BIND": f"127.0.0.1:{port}", f"{up}_DATABASE_URL": f"sqlite:///{folder / name}.db"})
    for name in ports:
        log = open(folder / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        role = "api" if name == "identity" else "all"  # pipeline's relay publishes FunnelChanged
        procs.append(subprocess.Popen([sys.executable, "-m", f"crm_{name}", role], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
    try:
        for name, port in ports.items():
            wait_for(lambda: _healthy(port), timeout=60, message=f"{name} healthy")
        # identity's relay (once its API has migrated the database) publishes UserDeactivated for records'
        # consumer; not `all`, whose mailer would want an SMTP server
        procs.append(subprocess.Popen([sys.executable, "-m", "crm_identity", "relay"], cwd=ROOT, env=env,
                                      stdout=open(folder / "identity-relay.log", "ab"),  # noqa: SIM115
                                      stderr=subprocess.STDOUT))
        yield {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def records(database_url, keys, neighbours):
    """Records' gRPC API on a free port over the test database."""
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    signer = TokenSigner(read_key(keys["service_private"]))
    svc = RecordsService(db, StageDirectory(neighbours["pipeline"], ttl=60, signer=signer),
                         UserDirectory(neighbours["identity"], signer=signer))
    server = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"]), read_key(keys["service_public"]),
                                                     "records"),
                        idempotency=IdempotencyStore(db, PLATFORM["idempotency_keys"]), service="records")
    server.add(rgrpc.add_RecordsServiceServicer_to_server, RecordsServicer(svc), "crm.records.v1.RecordsService")
    port = server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield {"stub": rgrpc.RecordsServiceStub(channel), "svc": svc, "db": db, "keys": keys,
           "neighbours": neighbours, "service_signer": signer}
    channel.close()
    server.stop(1)
    db.dispose()


class Company:
    """A signed-up company: its admin's token, and helpers to add users."""

    def __init__(self, neighbours, keys):
        self.channel = grpc.insecure_channel(neighbours["identity"])
        self.auth = igrpc.AuthServiceStub(self.channel)
        self.directory = igrpc.DirectoryServiceStub(self.channel)
        resp = self.auth.SignUp(ipb.SignUpRequest(company_name="Co", first_name="Aziz", last_name="Karimov",
                                                  email=f"a{uuid.uuid4().hex[:8]}@t.uz", password="pass-1234"))
        self.id = resp.company.id
        self.admin_id = resp.user.id
        self.token = resp.tokens.access_token
        self.keys = keys

    def md(self, token: str | None = None, key: str | None = None):
        """The call's metadata: the caller's token, and an Idempotency-Key as the gateway forwards it."""
        return [("authorization", f"Bearer {token or self.token}")] + ([("idempotency-key", key)] if key else [])

    def add_user(self, *, edit_phone: bool = True, admin: bool = False) -> tuple[str, str]:
        """Create a user with a role of its own; return (user id, access token)."""
        role = self.directory.CreateRole(ipb.CreateRoleRequest(
            name=f"r{uuid.uuid4().hex[:6]}", permissions=ipb.Permissions(admin=admin, edit_phone=edit_phone)),
            metadata=self.md()).role
        group = self.directory.ListGroups(ipb.ListGroupsRequest(), metadata=self.md()).groups[0]
        email = f"u{uuid.uuid4().hex[:8]}@t.uz"
        user = self.directory.CreateUser(ipb.CreateUserRequest(
            first_name="Olga", last_name="Li", email=email, password="olga-pass-1234", role_id=role.id,
            group_id=group.id), metadata=self.md()).user
        token = self.auth.Login(ipb.LoginRequest(email=email, password="olga-pass-1234")).tokens.access_token
        return user.id, token

    def service_md(self, user_id: str | None = None):
        """A business process acting for this company (service token)."""
        signer = TokenSigner(read_key(self.keys["service_private"]))
        token = signer.sign_service(caller="automation", callee="records", company_id=self.id,
                                    user_id=user_id or self.admin_id)
        return [("authorization", f"Bearer {token}")]


@pytest.fixture()
def company(records):
    return Company(records["neighbours"], records["keys"])
