"""Liveness and readiness of real service processes (`crm_platform.health`), on a broker of their own.

- A worker whose consumer thread dies (the failpoint `consumer.poll_thread`, as a bug escaping the
  loop would) answers liveness 503 while the process goes on running: Kubernetes restarts it.
- A database outage (PostgreSQL refusing the service's role, its sessions terminated) fails readiness
  (`/readyz` 503, grpc.health.v1 NOT_SERVING) but not liveness (`/healthz` 200: the gRPC server answers,
  the relay and consumer threads wait it out), and readiness comes back without a restart.

Pipeline's processes stand for every service's: the health port, the components and the probes are
crm_platform's (`runtime.run`)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kafka import KafkaProducer

from crm.identity.events.v1 import identity_events_pb2 as iev
from crm_platform.messaging import wait_for
from crm_platform.topics import topic_of
from tests.support.infra import PG_ADMIN_URL, ROOT, Broker, free_port, postgres_available

PG = postgres_available()


@pytest.fixture(scope="module")
def own_broker():
    """A broker of this module's own: no other pipeline consumer of the session shares the group."""
    b = Broker().start()
    yield b
    b.stop()


def _get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


@contextlib.contextmanager
def _pipeline(role: str, url: str, broker: Broker, keys: dict, tmp_path, **env):
    """`python -m crm_pipeline <role>` with its health port; yields (process, health port, gRPC port)."""
    health, grpc_port = free_port(), free_port()
    full = {**os.environ, "PIPELINE_DATABASE_URL": url, "PIPELINE_GRPC_BIND": f"127.0.0.1:{grpc_port}",
            "PIPELINE_HEALTH_PORT": str(health), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "AUTH_PUBLIC_KEY": keys["access_public"], **env}
    with open(tmp_path / f"pipeline-{role}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "crm_pipeline", role], cwd=ROOT, env=full, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        yield proc, health, grpc_port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_a_worker_whose_consumer_thread_died_fails_liveness(own_broker, keys, tmp_path):
    with _pipeline("consumer", f"sqlite:///{tmp_path / 'pipeline.db'}", own_broker, keys, tmp_path,
                   CRM_FAILPOINTS="consumer.poll_thread") as (proc, health, _):
        assert wait_for(lambda: _get(health, "/readyz")[0] == 200, 60), _get(health, "/readyz")
        status, body = _get(health, "/healthz")
        assert (status, body["checks"]) == (200, {"consumer": True})
        # any record on a topic it reads reaches the failpoint: the poll thread ends
        producer = KafkaProducer(bootstrap_servers=own_broker.bootstrap)
        producer.send(topic_of(iev.CompanyCreated), key=b"k", value=b"not an event",
                      headers=[("event_type", b"crm.identity.events.v1.CompanyCreated")]).get(10)
        producer.close()
        assert wait_for(lambda: _get(health, "/healthz")[0] == 503, 30)
        status, body = _get(health, "/healthz")
        assert body["status"] == "dead" and body["checks"] == {"consumer": False}
        assert _get(health, "/readyz")[0] == 503
        assert proc.poll() is None  # the process itself runs on: only a restart brings the consumer back
    assert "failpoint consumer.poll_thread reached" in (tmp_path / "pipeline-consumer.log").read_text()


def _grpc_status(port: int) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
        except grpc.RpcError:
            return -1


@pytest.mark.skipif(not PG, reason="PostgreSQL does not answer on 127.0.0.1:5432")
def test_a_database_outage_fails_readiness_not_liveness(own_broker, keys, tmp_path):
    import psycopg

    name = f"crm_test_{uuid.uuid4().hex[:10]}"
    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
        admin.execute(f'CREATE DATABASE "{name}"')  # not its owner: an owner keeps CONNECT
    with psycopg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as admin:
        admin.execute(f'GRANT ALL ON SCHEMA public TO "{name}"')

    def sessions(connect: bool) -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            if connect:
                admin.execute(f'GRANT CONNECT ON DATABASE "{name}" TO PUBLIC')
            else:
                admin.execute(f'REVOKE CONNECT ON DATABASE "{name}" FROM PUBLIC')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))

    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        with _pipeline("all", f"postgresql+psycopg://{name}@127.0.0.1:5432/{name}", own_broker, keys,
                       tmp_path) as (proc, health, grpc_port):
            assert wait_for(lambda: _get(health, "/readyz")[0] == 200, 60), _get(health, "/readyz")
            assert _get(health, "/readyz")[1]["checks"] == {"database": True, "grpc": True, "relay": True,
                                                            "consumer": True}
            assert _grpc_status(grpc_port) == serving
            sessions(connect=False)
            try:
                assert wait_for(lambda: _get(health, "/readyz")[0] == 503, 15)
                assert wait_for(lambda: _grpc_status(grpc_port) == not_serving, 15)
                deadline = time.monotonic() + 20  # the outage goes on: liveness holds throughout
                while time.monotonic() < deadline:
                    status, body = _get(health, "/healthz")
                    assert status == 200, body
                    assert _get(health, "/readyz")[1]["checks"]["database"] is False
                    time.sleep(1)
                assert proc.poll() is None
            finally:
                sessions(connect=True)
            assert wait_for(lambda: _get(health, "/readyz")[0] == 200, 30), _get(health, "/readyz")
            assert wait_for(lambda: _grpc_status(grpc_port) == serving, 15)
            assert _get(health, "/healthz")[0] == 200
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')
