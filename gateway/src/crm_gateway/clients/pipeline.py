"""gRPC calls to pipeline, one function each, each with a deadline."""

from __future__ import annotations

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm_gateway.clients import call, register_backend, stub

register_backend(
    "pipeline", ("crm.pipeline.v1.FunnelService", "crm.pipeline.v1.FieldService"),
    idempotent=[("crm.pipeline.v1.FunnelService", m) for m in
                ("ListFunnels", "GetFunnel", "GetStage", "GetStageRules", "GetPalette")]
    + [("crm.pipeline.v1.FieldService", "ListFields")])

ENTITIES = {"deal": ppb.ENTITY_DEAL, "client": ppb.ENTITY_CLIENT, "": ppb.ENTITY_UNSPECIFIED}
ENTITY_NAMES = {v: k for k, v in ENTITIES.items()}


def _funnels() -> pgrpc.FunnelServiceStub:
    return stub("pipeline", pgrpc.FunnelServiceStub)


def _fields() -> pgrpc.FieldServiceStub:
    return stub("pipeline", pgrpc.FieldServiceStub)


def list_funnels(entity: str = "") -> ppb.ListFunnelsResponse:
    return call(_funnels().ListFunnels, ppb.ListFunnelsRequest(entity=ENTITIES[entity]))


def get_funnel(funnel_id: str) -> ppb.GetFunnelResponse:
    return call(_funnels().GetFunnel, ppb.GetFunnelRequest(id=funnel_id))


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
    return call(_funnels().UpdateFunnel, req, timeout=5)


def get_stage_rules(stage_id: str) -> ppb.GetStageRulesResponse:
    return call(_funnels().GetStageRules, ppb.GetStageRulesRequest(stage_id=stage_id))


def update_stage_rules(stage_id: str, rules: dict[str, list[str]]) -> ppb.UpdateStageRulesResponse:
    return call(_funnels().UpdateStageRules,
                ppb.UpdateStageRulesRequest(rules=ppb.StageRules(stage_id=stage_id, **rules)))


def get_palette() -> ppb.GetPaletteResponse:
    return call(_funnels().GetPalette, ppb.GetPaletteRequest())


def list_fields(entity: str = "") -> ppb.ListFieldsResponse:
    return call(_fields().ListFields, ppb.ListFieldsRequest(entity=ENTITIES[entity]))


def create_field(entity: str, key: str, name: str, type: str, options: list[str]) -> ppb.CreateFieldResponse:  # noqa: A002
    return call(_fields().CreateField, ppb.CreateFieldRequest(entity=ENTITIES[entity], key=key, name=name, type=type,
                                                              options=options))


def update_field(field_id: str, name: str | None, options: list[str] | None) -> ppb.UpdateFieldResponse:
    req = ppb.UpdateFieldRequest(id=field_id)
    if name is not None:
        req.name = name
    if options is not None:
        req.set_options = True
        req.options.extend(options)
    return call(_fields().UpdateField, req)


def delete_field(field_id: str) -> None:
    call(_fields().DeleteField, ppb.DeleteFieldRequest(id=field_id))
