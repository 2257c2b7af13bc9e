"""gRPC calls to pipeline, one function each, each with a deadline."""

from __future__ import annotations

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm_gateway.clients import call, register_backend, stub

SERVICE = "crm.pipeline.v1.PipelineService"
register_backend("pipeline", (SERVICE,), idempotent=[(SERVICE, m) for m in (
    "ListFunnels", "GetFunnel", "GetStageRules", "GetPalette", "ListFields")])


def _pipeline() -> pgrpc.PipelineServiceStub:
    return stub("pipeline", pgrpc.PipelineServiceStub)


def list_funnels(entity: str = "") -> ppb.ListFunnelsResponse:
    return call(_pipeline().ListFunnels, ppb.ListFunnelsRequest(entity=entity))


def get_funnel(funnel_id: str) -> ppb.GetFunnelResponse:
    return call(_pipeline().GetFunnel, ppb.GetFunnelRequest(id=funnel_id))


def update_funnel(funnel_id: str, version: int, groups: list[dict], removed: list[dict],
                  name: str | None) -> ppb.UpdateFunnelResponse:
    req = ppb.UpdateFunnelRequest(
        id=funnel_id, version=version,
        groups=[ppb.StageGroupInput(key=g["key"], stages=[ppb.StageInput(id=s.get("id") or "", name=s["name"],
                                                                         color=s["color"]) for s in g["stages"]])
                for g in groups],
        removed=[ppb.StageRemoval(stage_id=r["stage_id"], move_to_stage_id=r["move_to_stage_id"]) for r in removed])
    if name is not None:
        req.name = name
    return call(_pipeline().UpdateFunnel, req, timeout=5)


def get_stage_rules(stage_id: str) -> ppb.GetStageRulesResponse:
    return call(_pipeline().GetStageRules, ppb.GetStageRulesRequest(stage_id=stage_id))


def update_stage_rules(stage_id: str, rules: dict[str, list[str]]) -> ppb.UpdateStageRulesResponse:
    return call(_pipeline().UpdateStageRules,
                ppb.UpdateStageRulesRequest(rules=ppb.StageRules(stage_id=stage_id, **rules)))


def get_palette() -> ppb.GetPaletteResponse:
    return call(_pipeline().GetPalette, ppb.GetPaletteRequest())


def list_fields(entity: str = "") -> ppb.ListFieldsResponse:
    return call(_pipeline().ListFields, ppb.ListFieldsRequest(entity=entity))


def create_field(entity: str, key: str, name: str, type: str, options: list[str]) -> ppb.CreateFieldResponse:  # noqa: A002
    return call(_pipeline().CreateField, ppb.CreateFieldRequest(entity=entity, key=key, name=name, type=type,
                                                              options=options))


def update_field(field_id: str, name: str | None, options: list[str] | None) -> ppb.UpdateFieldResponse:
    req = ppb.UpdateFieldRequest(id=field_id)
    if name is not None:
        req.name = name
    if options is not None:
        req.set_options = True
        req.options.extend(options)
    return call(_pipeline().UpdateField, req)


def delete_field(field_id: str) -> None:
    call(_pipeline().DeleteField, ppb.DeleteFieldRequest(id=field_id))
