"""Where an event is published, read from its contract.

Every event message declares its topic and aggregate kind once, as options in its .proto
(`crm.common.v1.topic`, `crm.common.v1.aggregate`, see protos/crm/common/v1/events.proto).
Producers (`UnitOfWork.publish`), consumers (`Subscription`) and the deployment (which creates the
topics) all ask here instead of spelling the name.

    python -m crm_platform.topics create [--partitions 6] [--replication-factor N] [--min-insync-replicas N]
    python -m crm_platform.topics list

`create` makes every topic of the contracts and its `.dlq` (what compose's `kafka-init` and the
Kubernetes pods' `topics` init container run), with `KAFKA_REPLICATION_FACTOR` replicas and
`min.insync.replicas` = `KAFKA_MIN_INSYNC_REPLICAS` (3 and 2 against a cluster; the dev broker, Tansu,
keeps 1 and 1), waiting up to `--wait` seconds for the broker. A topic that exists already is left as it
is, but one with fewer replicas than asked for fails the command (exit 1): it was made by hand or by a
process configured otherwise, and only a partition reassignment can fix it. Relays' marker topics
(`crm._relay.<service>`) are never created here: their absence is how a relay learns that the broker
lost its log. Processes that create a topic they need (`messaging.TopicManager`) use the same
replication, set once per process from its settings (`configure`, called by `runtime.run`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pkgutil
import sys
import time
from types import ModuleType
from typing import Iterable

from google.protobuf.message import Message

from crm.common.v1 import events_pb2 as _options
from crm_platform import kafka_auth


def topic_of(message: Message | type[Message]) -> str:
    """The topic an event (message or class) is published to; KeyError when its contract names none."""
    topic = message.DESCRIPTOR.GetOptions().Extensions[_options.topic]
    if not topic:
        raise KeyError(f"{message.DESCRIPTOR.full_name} declares no topic")
    return topic


def aggregate_of(message: Message | type[Message]) -> str:
    """The kind of aggregate an event is about (the outbox's aggregate_type)."""
    return message.DESCRIPTOR.GetOptions().Extensions[_options.aggregate]


def events_in(module: ModuleType) -> list[type[Message]]:
    """The event classes a generated *_pb2 module defines (the messages that declare a topic)."""
    return [getattr(module, name) for name in sorted(module.DESCRIPTOR.message_types_by_name)
            if module.DESCRIPTOR.message_types_by_name[name].GetOptions().Extensions[_options.topic]]


def topics_in(*modules: ModuleType) -> tuple[str, ...]:
    """Every topic the events of these modules are published to (sorted, once each)."""
    return tuple(sorted({topic_of(cls) for module in modules for cls in events_in(module)}))


def event_modules() -> Iterable[ModuleType]:
    """Every generated events module (`crm.<service>.events.v<N>.*_pb2`)."""
    import crm

    for info in pkgutil.walk_packages(crm.__path__, "crm."):
        if ".events." in info.name and info.name.endswith("_pb2"):
            yield importlib.import_module(info.name)


def all_topics() -> tuple[str, ...]:
    """Every topic any service publishes to: what a deployment creates."""
    return topics_in(*event_modules())


DLQ_SUFFIX = ".dlq"


def wanted_topics() -> list[str]:
    """Every topic a deployment creates: each contract's topic and its dead-letter topic."""
    return [name for topic in all_topics() for name in (topic, topic + DLQ_SUFFIX)]


@dataclasses.dataclass(frozen=True)
class Replication:
    """How many copies of a topic's partitions the brokers keep, and how many must have a write
    acknowledged with acks=all (`min.insync.replicas`)."""

    factor: int = 1
    min_insync: int = 1

    def __post_init__(self) -> None:
        if self.factor < 1 or not 1 <= self.min_insync <= self.factor:
            raise ValueError(f"replication factor {self.factor} with min.insync.replicas {self.min_insync}: "
                             "need 1 <= min.insync.replicas <= replication factor")

    def configs(self) -> dict[str, str]:
        """Topic configs to create a topic with (none for a single copy: the dev broker takes no others)."""
        return {"min.insync.replicas": str(self.min_insync)} if self.factor > 1 else {}


_replication = Replication()


def configure(factor: int, min_insync: int) -> None:
    """Set this process's replication for the topics it creates (`runtime.run`, from its settings)."""
    global _replication
    _replication = Replication(factor, min_insync)


def replication() -> Replication:
    """This process's replication for the topics it creates."""
    return _replication


def create(admin, names: Iterable[str], partitions: int, spec: Replication | None = None) -> tuple[list, list]:
    """Create the missing topics of `names` with `admin` (a kafka-python KafkaAdminClient); return
    (created, already there)."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    spec = spec or replication()
    created, existing = [], []
    for name in names:
        try:
            admin.create_topics([NewTopic(name, partitions, spec.factor, topic_configs=spec.configs())])
            created.append(name)
        except TopicAlreadyExistsError:
            existing.append(name)
    return created, existing


def _replicas(admin, names: list[str]) -> dict[str, int]:
    """The fewest replicas any partition of each topic has. (A Metadata v7 request of its own:
    `describe_topics` asks for authorized operations too, and fails to read Tansu's answer.)"""
    from kafka.protocol.metadata import MetadataRequest

    answer = admin.send_request(MetadataRequest[7](topics=names, allow_auto_topic_creation=False)).to_object()
    return {d["topic"]: min((len(p["replicas"]) for p in d["partitions"]), default=0) for d in answer["topics"]}


def _admin(bootstrap: str, wait: float):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + wait
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000,
                                    **kafka_auth.client_config())
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                raise SystemExit(f"crm_platform.topics: no broker at {bootstrap} within {wait:.0f} s: {exc}")
            print(f"waiting for the broker at {bootstrap}: {exc}", file=sys.stderr)
            time.sleep(2)


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m crm_platform.topics", description="the CRM's Kafka topics")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--bootstrap", default=env.get("KAFKA_BOOTSTRAP_SERVERS", ""),
                        help="broker host:port list (KAFKA_BOOTSTRAP_SERVERS)")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--replication-factor", type=int, default=int(env.get("KAFKA_REPLICATION_FACTOR") or 1),
                        help="KAFKA_REPLICATION_FACTOR (default 1)")
    parser.add_argument("--min-insync-replicas", type=int, default=int(env.get("KAFKA_MIN_INSYNC_REPLICAS") or 1),
                        help="KAFKA_MIN_INSYNC_REPLICAS (default 1)")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the broker")
    args = parser.parse_args(argv)
    security = kafka_auth.from_environ(env)  # KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*: as the services read them
    if security.problems():
        parser.error("; ".join(security.problems()))
    kafka_auth.configure(security)
    names = wanted_topics()
    if args.command == "list":
        print("\n".join(names))
        return 0
    if not args.bootstrap:
        parser.error("--bootstrap or KAFKA_BOOTSTRAP_SERVERS is required")
    try:
        spec = Replication(args.replication_factor, args.min_insync_replicas)
    except ValueError as exc:
        parser.error(str(exc))
    admin = _admin(args.bootstrap, args.wait)
    try:
        created, existing = create(admin, names, args.partitions, spec)
        short = {n: r for n, r in _replicas(admin, existing).items() if r < spec.factor} if existing else {}
    finally:
        admin.close()
    for name in names:
        state = "created" if name in created else f"UNDER-REPLICATED ({short[name]})" if name in short else "exists"
        print(f"{name}\t{state}")
    print(f"{len(created)} created, {len(existing)} already there; replication {spec.factor}, "
          f"min.insync.replicas {spec.min_insync}")
    if short:
        print(f"crm_platform.topics: {len(short)} topic(s) have fewer than {spec.factor} replicas: "
              + ", ".join(sorted(short)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
