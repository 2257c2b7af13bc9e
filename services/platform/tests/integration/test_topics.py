"""`python -m crm_platform.topics create` (what compose's kafka-init and the pods' `topics` init container
run) as a real process against a real broker (Tansu, one node): every contract topic and its `.dlq`
created once; run again, nothing new; asked for more replicas than the topics have, it fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kafka import KafkaConsumer

from crm_platform.topics import all_topics, wanted_topics
from tests.support.infra import ROOT, Broker


@pytest.fixture(scope="module")
def own_broker():
    b = Broker().start()
    yield b
    b.stop()


def _create(broker: Broker, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_platform.topics", "create", *args], cwd=ROOT,
                          env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, **env},
                          capture_output=True, text=True, timeout=120)


def test_create_makes_every_contract_topic_and_its_dead_letter_topic_once(own_broker):
    wanted = wanted_topics()
    assert set(wanted) == set(all_topics()) | {f"{t}.dlq" for t in all_topics()}
    first = _create(own_broker, KAFKA_REPLICATION_FACTOR="1", KAFKA_MIN_INSYNC_REPLICAS="1")
    assert first.returncode == 0, first.stderr
    assert f"{len(wanted)} created, 0 already there; replication 1" in first.stdout
    consumer = KafkaConsumer(bootstrap_servers=own_broker.bootstrap)
    try:
        assert set(wanted) <= consumer.topics()
        assert {len(consumer.partitions_for_topic(t)) for t in wanted} == {6}
        assert not any(t.startswith("crm._relay.") for t in consumer.topics())  # relays' markers: never
    finally:
        consumer.close()
    again = _create(own_broker)
    assert again.returncode == 0 and f"0 created, {len(wanted)} already there" in again.stdout
    # a production setting against topics with one replica (made by hand, or by a process configured
    # otherwise): reported, and the command fails so the deployment does not go on unnoticed
    short = _create(own_broker, "--replication-factor", "3", "--min-insync-replicas", "2")
    assert short.returncode == 1
    assert "UNDER-REPLICATED (1)" in short.stdout and f"{len(wanted)} topic(s) have fewer than 3" in short.stderr


def test_create_refuses_an_impossible_setting_and_waits_only_so_long_for_a_broker(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "crm_platform.topics", "create", "--bootstrap", "127.0.0.1:9",
                          "--replication-factor", "1", "--min-insync-replicas", "2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "min.insync.replicas" in bad.stderr
    gone = subprocess.run([sys.executable, "-m", "crm_platform.topics", "create", "--bootstrap", "127.0.0.1:9",
                           "--wait", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert gone.returncode != 0 and "no broker at 127.0.0.1:9" in gone.stderr
