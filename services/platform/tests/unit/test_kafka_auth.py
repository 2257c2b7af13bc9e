"""Kafka client authentication (`crm_platform.kafka_auth`): the settings become kafka-python's arguments, and
every producer, consumer and admin client crm_platform makes is built with them."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from crm_platform import kafka_auth
from crm_platform.config import ConfigError, load
from crm_platform.kafka_auth import KafkaSecurity
from crm_platform.runtime import ServiceSettings

BASE = {"SVC_DATABASE_URL": "sqlite://", "SVC_GRPC_BIND": "127.0.0.1:1", "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
PLATFORM = pathlib.Path(kafka_auth.__file__).parent


def test_plaintext_by_default_for_make_runs_open_broker():
    settings = load(ServiceSettings, "SVC", BASE)
    assert kafka_auth.from_settings(settings).client_config() == {"security_protocol": "PLAINTEXT"}


def test_sasl_scram_settings_become_kafka_python_arguments():
    settings = load(ServiceSettings, "SVC", {**BASE, "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
                                             "KAFKA_SASL_USERNAME": "records", "KAFKA_SASL_PASSWORD": "pw",
                                             "KAFKA_SSL_CAFILE": "/etc/kafka/ca.crt"})
    config = kafka_auth.from_settings(settings).client_config()
    assert config == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                      "sasl_plain_username": "records", "sasl_plain_password": "pw", "ssl_cafile": "/etc/kafka/ca.crt"}
    assert "pw" not in repr(settings) and "pw" not in repr(kafka_auth.from_settings(settings))
    # the names are kafka-python's own, for all three kinds of client
    for cls in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        assert set(config) <= set(cls.DEFAULT_CONFIG), cls
    plain = KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", "billing", "pw").client_config()
    assert plain["security_protocol"] == "SASL_PLAINTEXT" and "ssl_cafile" not in plain


@pytest.mark.parametrize("env, problem", [
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL_SOMETHING"}, "is not one of"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_MECHANISM='GSSAPI'"),
])
def test_incomplete_or_unknown_settings_stop_the_process(env, problem):
    with pytest.raises(ConfigError, match=problem):
        load(ServiceSettings, "SVC", {**BASE, **env})


def test_the_topics_command_reads_the_same_names():
    security = kafka_auth.from_environ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "admin",
                                        "KAFKA_SASL_PASSWORD": "x", "KAFKA_SASL_MECHANISM": "PLAIN"})
    assert security.client_config()["sasl_mechanism"] == "PLAIN" and not security.problems()


def test_the_process_configuration_reaches_the_clients():
    try:
        kafka_auth.configure(KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "records", "pw"))
        assert kafka_auth.client_config()["sasl_plain_username"] == "records"
    finally:
        kafka_auth.configure(KafkaSecurity())
    assert kafka_auth.client_config() == {"security_protocol": "PLAINTEXT"}


def test_every_kafka_client_of_the_platform_is_made_with_the_process_configuration():
    """Each KafkaProducer/KafkaConsumer/KafkaAdminClient(...) call in crm_platform and in every service's
    and the gateway's source passes **client_config() (records' cache listener has a consumer of its own)."""
    calls = []
    top = PLATFORM.parents[2]  # services/
    for path in [*PLATFORM.glob("*.py"), *top.glob("*/src/*/**/*.py"), *(top.parent / "gateway" / "src").glob("**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                    "KafkaProducer", "KafkaConsumer", "KafkaAdminClient"):
                passes = any(k.arg is None and isinstance(k.value, ast.Call) and "client_config" in ast.unparse(k.value)
                             for k in node.keywords)
                calls.append((path.name, node.lineno, passes))
    assert len(calls) >= 5, calls  # the producer, the consumers, the admin clients (messaging, topics, ACLs)
    assert any(name == "consumer.py" for name, *_ in calls), calls  # records' cache listener was seen
    assert all(passes for *_, passes in calls), [c for c in calls if not c[2]]
    assert "client_config" in inspect.getsource(kafka_auth)
