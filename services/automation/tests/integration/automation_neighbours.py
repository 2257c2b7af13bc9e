"""The real neighbours of automation's integration tests: identity, pipeline and records as their own
processes (`python -m crm_<svc> all` on free 127.0.0.1 ports, SQLite files, the session broker), and a
signed-up company to act in them. The fixtures that start them are in conftest.py."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import pathlib
import subprocess
import sys
import urllib.request
import uuid

import grpc

from crm.identity.v1 import identity_service_pb2 as ipb
from crm.identity.v1 import identity_service_pb2_grpc as igrpc
from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.v1 import records_service_pb2 as rpb
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from crm_platform.auth import TokenSigner, TokenVerifier, read_key
from crm_platform.context import Principal
from tests.support.infra import ROOT, free_port, wait_for

NAMES = ("identity", "pipeline", "records")


def healthy(address: str) -> bool:
    """Whether the gRPC health service at `address` answers SERVING."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as ch:
        try:
            return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1
        except grpc.RpcError:
            return False


class Service:
    """One service process (`python -m crm_<name> all`); it can be stopped and started again on its port
    and its SQLite file, so a test can meet it unavailable."""

    def __init__(self, name: str, port: int, env: dict[str, str], folder: pathlib.Path):
        self.name, self.address, self.env, self.folder = name, f"127.0.0.1:{port}", env, folder
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        log = open(self.folder / f"{self.name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen([sys.executable, "-m", f"crm_{self.name}", "all"], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_healthy(self) -> None:
        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.folder}")
            return healthy(self.address)
        wait_for(up, timeout=60, message=f"{self.name} healthy")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def stopped(self):
        """The service is down inside the block, and up (healthy) again after it."""
        return down(self)


@contextlib.contextmanager
def down(*services: Service):
    """The services are stopped (terminated, side by side) inside the block, and up again after it."""
    for s in services:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.terminate()
    for s in services:
        s.stop()
    try:
        yield
    finally:
        for s in services:
            s.start()
        for s in services:
            s.wait_healthy()


class Neighbours:
    """identity, pipeline and records, each its own process, all on one broker and one pair of key pairs."""

    def __init__(self, bootstrap: str, keys: dict[str, str], folder: pathlib.Path):
        self.keys = keys
        ports = {name: free_port() for name in NAMES}
        self.records_metrics_port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "AUTH_PUBLIC_KEY": keys["access_public"],
                    "AUTH_PRIVATE_KEY": keys["access_private"], "SERVICE_TOKEN_PUBLIC_KEY": keys["service_public"],
                    "SERVICE_TOKEN_PRIVATE_KEY": keys["service_private"], "SMTP_PORT": str(free_port()),
                    "RECORDS_HEALTH_PORT": str(self.records_metrics_port), "PYTHONUNBUFFERED": "1"})
        for name, port in ports.items():
            up = name.upper()
            env.update({f"{up}_GRPC_BIND": f"127.0.0.1:{port}", f"{up}_GRPC_ADDR": f"127.0.0.1:{port}",
                        f"{up}_DATABASE_URL": f"sqlite:///{folder / name}.db"})
        self.services = {name: Service(name, port, env, folder) for name, port in ports.items()}
        self.identity, self.pipeline, self.records = (self.services[n] for n in NAMES)
        self.access = TokenVerifier(read_key(keys["access_public"]))
        self._channels = {name: grpc.insecure_channel(s.address) for name, s in self.services.items()}
        self.auth = igrpc.AuthServiceStub(self._channels["identity"])
        self.directory = igrpc.DirectoryServiceStub(self._channels["identity"])
        self.funnels = pgrpc.PipelineServiceStub(self._channels["pipeline"])
        self.records_stub = rgrpc.RecordsServiceStub(self._channels["records"])

    def start(self) -> "Neighbours":
        for s in self.services.values():
            s.start()
        for s in self.services.values():
            s.wait_healthy()
        return self

    def down(self, *names: str):
        """The named services are down inside the block (`down`)."""
        return down(*(self.services[n] for n in names))

    def stop(self) -> None:
        for ch in self._channels.values():
            ch.close()
        for s in self.services.values():  # all at once: each takes its graceful stop's few seconds
            if s.proc is not None and s.proc.poll() is None:
                s.proc.terminate()
        for s in self.services.values():
            s.stop()

    def records_calls(self) -> dict[str, int]:
        """How many calls of each method the records process has handled (its own /metrics), any outcome."""
        url = f"http://127.0.0.1:{self.records_metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our own 127.0.0.1 port
            text = resp.read().decode()
        calls: dict[str, int] = {}
        prefix = "/crm.records.v1.RecordsService/"
        for line in text.splitlines():
            if line.startswith("crm_grpc_handled_total{"):
                labels, value = line[len("crm_grpc_handled_total{"):].rsplit("} ", 1)
                method = dict(part.split("=", 1) for part in labels.split(","))["method"].strip('"')
                if method.startswith(prefix):
                    name = method[len(prefix):]
                    calls[name] = calls.get(name, 0) + int(float(value))
        return calls


class Company:
    """A company signed up at identity (which seeds its funnels in pipeline through the broker): its admin,
    its users, and its deals, clients and tasks in records."""

    def __init__(self, n: Neighbours, time_zone: str = ""):
        self.n = n
        resp = n.auth.SignUp(ipb.SignUpRequest(company_name="Co", first_name="Aziz", last_name="Karimov",
                                               email=f"a{uuid.uuid4().hex[:8]}@t.uz", password="pass-1234",
                                               time_zone=time_zone), timeout=30)
        self.id, self.admin_id, self.token = resp.company.id, resp.user.id, resp.tokens.access_token
        self.time_zone = resp.company.time_zone
        self.admin = self.principal(self.token)
        found = wait_for(lambda: {f.entity: f for f in n.funnels.ListFunnels(
            ppb.ListFunnelsRequest(), metadata=self.md(), timeout=10).funnels}, timeout=30,
            message="the company's funnels")
        self.funnels = {entity: (f.id, [s.id for g in f.groups for s in g.stages]) for entity, f in found.items()}

    def principal(self, token: str) -> Principal:
        """The caller as automation's API sees it (its token verified)."""
        return self.n.access.verify(token)

    def md(self, token: str | None = None) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {token or self.token}")]

    def add_user(self, *, admin: bool = False) -> tuple[str, str]:
        """A user with a role of its own (an administrator's or a plain one); (user id, access token)."""
        d = self.n.directory
        role = d.CreateRole(ipb.CreateRoleRequest(name=f"r{uuid.uuid4().hex[:6]}", permissions=ipb.Permissions(
            admin=admin)), metadata=self.md(), timeout=10).role
        group = d.ListGroups(ipb.ListGroupsRequest(), metadata=self.md(), timeout=10).groups[0]
        email = f"u{uuid.uuid4().hex[:8]}@t.uz"
        user = d.CreateUser(ipb.CreateUserRequest(first_name="Olga", last_name="Li", email=email, password="pass-1234",
                                                  role_id=role.id, group_id=group.id), metadata=self.md(),
                            timeout=10).user
        token = self.n.auth.Login(ipb.LoginRequest(email=email, password="pass-1234"), timeout=30).tokens.access_token
        return user.id, token

    def deactivate(self, user_id: str) -> None:
        self.n.directory.DeactivateUser(ipb.DeactivateUserRequest(id=user_id), metadata=self.md(), timeout=10)

    def service_md(self, user_id: str | None = None) -> list[tuple[str, str]]:
        """A business process acting for this company (a service token)."""
        token = TokenSigner(read_key(self.n.keys["service_private"])).sign_service(
            caller="automation", callee="records", company_id=self.id, user_id=user_id or self.admin_id)
        return [("authorization", f"Bearer {token}")]

    def deal(self, responsible_id: str = "", md=None) -> rpb.Deal:
        return self.n.records_stub.CreateDeal(rpb.CreateDealRequest(title="Deal", responsible_id=responsible_id),
                                              metadata=md or self.md(), timeout=10).deal

    def move(self, deal_id: str, stage_id: str) -> rpb.Deal:
        return self.n.records_stub.UpdateDeal(rpb.UpdateDealRequest(id=deal_id, stage_id=stage_id),
                                              metadata=self.md(), timeout=10).deal

    def delete_deal(self, deal_id: str) -> None:
        self.n.records_stub.DeleteDeal(rpb.DeleteDealRequest(id=deal_id), metadata=self.md(), timeout=10)

    def client(self, md=None) -> rpb.Client:
        return self.n.records_stub.CreateClient(rpb.CreateClientRequest(name="Client"), metadata=md or self.md(),
                                                timeout=10).client

    def tasks(self, **filters) -> list[rpb.Task]:
        """The company's tasks as records lists them (every page)."""
        out, cursor = [], ""
        while True:
            page = self.n.records_stub.ListTasks(rpb.ListTasksRequest(limit=100, cursor=cursor, **filters),
                                                 metadata=self.md(), timeout=10)
            out += page.tasks
            if not page.next_cursor:
                return out
            cursor = page.next_cursor

    def task(self, task_id: str) -> rpb.Task:
        return self.n.records_stub.GetTask(rpb.GetTaskRequest(id=task_id), metadata=self.md(), timeout=10).task

    def deal_history(self, deal_id: str) -> list[rpb.HistoryEntry]:
        return list(self.n.records_stub.GetDealHistory(rpb.GetDealHistoryRequest(id=deal_id, limit=100),
                                                       metadata=self.md(), timeout=10).entries)
