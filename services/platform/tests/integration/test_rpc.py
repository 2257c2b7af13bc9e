"""The gRPC bootstrap: real readiness in grpc.health.v1, reflection, error mapping."""

from __future__ import annotations

import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crm_platform.auth import TokenVerifier, read_key
from crm_platform.messaging import wait_for
from crm_platform.rpc import GrpcServer


def _status(stub):
    return stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status


def test_health_follows_readiness_and_reflection_lists_services(keys):
    ready = threading.Event()
    server = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"])), readiness=ready.is_set)
    port = server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    try:
        assert _status(health) == health_pb2.HealthCheckResponse.NOT_SERVING
        ready.set()
        assert wait_for(lambda: _status(health) == health_pb2.HealthCheckResponse.SERVING, timeout=5)
        ready.clear()
        assert wait_for(lambda: _status(health) == health_pb2.HealthCheckResponse.NOT_SERVING, timeout=5)
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        answer = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in answer.list_services_response.service}
        assert "grpc.health.v1.Health" in names
    finally:
        channel.close()
        server.stop(1)
