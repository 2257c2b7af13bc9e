"""Per-service Kafka ACLs: a service writes only its own topics and reads only the topics it consumes.

    python -m crm_platform.kafka_acls list     # the table, one ACL a line
    python -m crm_platform.kafka_acls apply    # create them (idempotent), as KAFKA_SASL_USERNAME (a super user)

Each service is its own SCRAM user (`User:<service>`, `KAFKA_SASL_USERNAME`; compose and Kubernetes create
them: docs/deployment.md) with exactly:

- WRITE on its topics, `crm.<service>.*` (its relay publishes its outbox there);
- READ on the topics it consumes (`CONSUMES`: the events its consumers subscribe to, by their contracts'
  topics) and WRITE on their dead-letter topics (`<topic>.dlq`: a consumer copies what it gives up on);
- READ on its consumer groups (`<service>...`: `records.funnel-changes`, `records-cache-<id>`, ...);
- CREATE on `crm.*` (every pod's `topics` init container creates the topics, consumers create those they
  read, a relay its marker topic `crm._relay.<service>`); creating a topic gives no right to use it;
- DESCRIBE wherever it has one of these (metadata).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Iterable, Mapping

from crm_platform import kafka_auth
from crm_platform.topics import DLQ_SUFFIX, all_topics, event_modules, topic_of

# service -> the events its processes consume (full names; their topics come from the contracts).
# tests/test_deploy.py checks it against the subscriptions in each service's entrypoints/consumer.py.
CONSUMES: Mapping[str, tuple[str, ...]] = {
    "identity": (),
    "pipeline": ("crm.identity.events.v1.CompanyCreated",),
    "records": ("crm.pipeline.events.v1.FunnelChanged", "crm.pipeline.events.v1.FieldsChanged",
                "crm.identity.events.v1.UserUpdated", "crm.identity.events.v1.UserDeactivated",
                "crm.identity.events.v1.CompanyCreated",
                # its own deal events, into the reports' read model
                "crm.records.events.v1.DealCreated", "crm.records.events.v1.DealStageChanged",
                "crm.records.events.v1.DealResponsibleChanged", "crm.records.events.v1.DealUpdated",
                "crm.records.events.v1.DealDeleted", "crm.records.events.v1.DealRestored"),
    "automation": ("crm.records.events.v1.DealCreated", "crm.records.events.v1.DealStageChanged",
                   "crm.records.events.v1.DealResponsibleChanged", "crm.records.events.v1.ClientCreated",
                   "crm.records.events.v1.ClientStageChanged", "crm.records.events.v1.ClientResponsibleChanged",
                   "crm.identity.events.v1.CompanyCreated"),
    "billing": ("crm.identity.events.v1.CompanyCreated", "crm.identity.events.v1.UserCreated",
                "crm.identity.events.v1.UserDeactivated"),
}


@dataclasses.dataclass(frozen=True, order=True)
class Acl:
    principal: str          # User:<service>
    resource: str           # topic | group
    name: str
    pattern: str            # literal | prefixed
    operation: str          # write | read | create | describe

    def __str__(self) -> str:
        return f"{self.principal}\tALLOW {self.operation.upper()}\t{self.resource} {self.pattern} {self.name}"


def _events() -> dict[str, type]:
    return {cls.DESCRIPTOR.full_name: cls for module in event_modules()
            for cls in (getattr(module, n) for n in module.DESCRIPTOR.message_types_by_name)}


def produced(service: str) -> tuple[str, ...]:
    """The topics of the service's own event contracts (`crm.<service>.events`)."""
    return tuple(t for t in all_topics() if t.startswith(f"crm.{service}."))


def consumed(service: str) -> tuple[str, ...]:
    """The topics the service's consumers read."""
    events = _events()
    return tuple(sorted({topic_of(events[name]) for name in CONSUMES.get(service, ())}))


def acls(services: Iterable[str] = tuple(CONSUMES)) -> list[Acl]:
    """Every ACL of every service's user."""
    out: set[Acl] = set()
    for svc in services:
        user = f"User:{svc}"
        for op in ("write", "describe"):
            out.add(Acl(user, "topic", f"crm.{svc}.", "prefixed", op))
        for topic in consumed(svc):
            out |= {Acl(user, "topic", topic, "literal", op) for op in ("read", "describe")}
            out |= {Acl(user, "topic", topic + DLQ_SUFFIX, "literal", op) for op in ("write", "describe")}
        out |= {Acl(user, "topic", "crm.", "prefixed", op) for op in ("create", "describe")}
        out |= {Acl(user, "group", svc, "prefixed", op) for op in ("read", "describe")}
    return sorted(out)


def may(acl_list: Iterable[Acl], service: str, operation: str, topic: str) -> bool:
    """Whether `service`'s user may do `operation` on `topic` under these ACLs (allow rules only)."""
    for a in acl_list:
        if a.principal == f"User:{service}" and a.resource == "topic" and a.operation == operation and (
                topic == a.name if a.pattern == "literal" else topic.startswith(a.name)):
            return True
    return False


def apply(bootstrap: str, acl_list: list[Acl]) -> list[str]:
    """Create the ACLs on the cluster (existing ones are kept); return the failures."""
    from kafka import KafkaAdminClient
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000,
                             **kafka_auth.client_config())
    try:
        answer = admin.create_acls([ACL(a.principal, "*", getattr(ACLOperation, a.operation.upper()),
                                        ACLPermissionType.ALLOW,
                                        ResourcePattern(getattr(ResourceType, a.resource.upper()), a.name,
                                                        getattr(ACLResourcePatternType, a.pattern.upper())))
                                    for a in acl_list])
    finally:
        admin.close()
    return [f"{acl}: {error}" for acl, error in answer.get("failed", [])]


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m crm_platform.kafka_acls", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "apply"])
    parser.add_argument("--bootstrap", default=env.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    args = parser.parse_args(argv)
    table = acls()
    if args.command == "list":
        print("\n".join(map(str, table)))
        return 0
    security = kafka_auth.from_environ(env)
    if security.problems() or not args.bootstrap:
        parser.error("; ".join(security.problems()) or "--bootstrap or KAFKA_BOOTSTRAP_SERVERS is required")
    kafka_auth.configure(security)
    failed = apply(args.bootstrap, table)
    print(f"{len(table) - len(failed)} ACLs in place for {', '.join(CONSUMES)}")
    if failed:
        print("\n".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
