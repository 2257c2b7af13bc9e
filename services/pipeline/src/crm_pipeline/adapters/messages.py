"""Rows to protobuf messages, shared by the gRPC servicers and the events (no rules here)."""

from __future__ import annotations


from crm.pipeline.v1 import pipeline_service_pb2 as pb
from crm_platform.db import rfc3339
from crm_pipeline.domain import model


ts = rfc3339  # RFC 3339 UTC text of a stored time


def stage_pb(s) -> pb.Stage:
    return pb.Stage(id=s.id, name=s.name, color=s.color, position=s.position, group_key=s.group_key,
                    funnel_id=s.funnel_id)


def funnel_pb(funnel, stages) -> pb.Funnel:
    """The funnel with its live stages sorted into the four groups."""
    by_group: dict[str, list] = {k: [] for k in model.GROUPS}
    for s in stages:
        by_group.setdefault(s.group_key, []).append(s)
    groups = [pb.StageGroup(key=k, stages=[stage_pb(s) for s in sorted(by_group[k], key=lambda x: x.position)])
              for k in model.GROUPS]
    return pb.Funnel(id=funnel.id, name=funnel.name, entity=funnel.entity, groups=groups, version=funnel.version,
                     updated_at=ts(funnel.updated_at))


def rules_pb(stage_id: str, rules: dict) -> pb.StageRules:
    return pb.StageRules(stage_id=stage_id, **{k: list(rules.get(k) or []) for k in model.RULE_KINDS})


def field_pb(f) -> pb.FieldDefinition:
    return pb.FieldDefinition(id=f.id, entity=f.entity, key=f.key, name=f.name, type=f.type,
                              options=list(f.options or []), position=f.position, created_at=ts(f.created_at))
