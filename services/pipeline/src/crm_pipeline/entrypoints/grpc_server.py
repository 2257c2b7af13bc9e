"""gRPC servicer of pipeline: proto in, use case, proto out. No rules here."""

from __future__ import annotations

from crm.pipeline.v1 import pipeline_service_pb2 as pb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pb_grpc
from crm_platform.context import current_principal
from crm_pipeline.adapters.messages import field_pb, funnel_pb, rules_pb, stage_pb
from crm_pipeline.domain import model


class PipelineService(pb_grpc.PipelineServiceServicer):
    """Funnels, stages, stage rules, the palette and custom fields of the caller's company."""

    def __init__(self, service):
        self.svc = service

    def ListFunnels(self, request, context):
        funnels = self.svc.list_funnels(current_principal(), request.entity)
        return pb.ListFunnelsResponse(funnels=[funnel_pb(f, stages) for f, stages in funnels])

    def GetFunnel(self, request, context):
        return pb.GetFunnelResponse(funnel=funnel_pb(*self.svc.get_funnel(current_principal(), request.id)))

    def UpdateFunnel(self, request, context):
        groups = [(g.key, [model.StageEdit(s.id, s.name, s.color) for s in g.stages]) for g in request.groups]
        removed = [(r.stage_id, r.move_to_stage_id) for r in request.removed]
        funnel, stages = self.svc.update_funnel(current_principal(), request.id, version=request.version,
                                                groups=groups, removed=removed,
                                                name=request.name if request.HasField("name") else None)
        return pb.UpdateFunnelResponse(funnel=funnel_pb(funnel, stages))

    def GetStageContext(self, request, context):
        stage, funnel, fields = self.svc.stage_context(current_principal(), request.stage_id)
        return pb.GetStageContextResponse(stage=stage_pb(stage), entity=funnel.entity,
                                          fields=[field_pb(f) for f in fields],
                                          rules=rules_pb(stage.id, {**model.empty_rules(), **(stage.rules or {})}),
                                          funnel_version=funnel.version)

    def GetDefaultStage(self, request, context):
        return pb.GetDefaultStageResponse(stage=stage_pb(self.svc.default_stage(current_principal(), request.entity)))

    def GetStageRules(self, request, context):
        return pb.GetStageRulesResponse(rules=rules_pb(request.stage_id,
                                                       self.svc.get_rules(current_principal(), request.stage_id)))

    def UpdateStageRules(self, request, context):
        r = request.rules
        rules = self.svc.update_rules(current_principal(), r.stage_id,
                                      {k: list(getattr(r, k)) for k in model.RULE_KINDS})
        return pb.UpdateStageRulesResponse(rules=rules_pb(r.stage_id, rules))

    def GetPalette(self, request, context):
        return pb.GetPaletteResponse(colors=self.svc.palette())

    def ListFields(self, request, context):
        return pb.ListFieldsResponse(fields=[field_pb(f) for f in
                                             self.svc.list_fields(current_principal(), request.entity)])

    def CreateField(self, request, context):
        f = self.svc.create_field(current_principal(), entity=request.entity, key=request.key, name=request.name,
                                  field_type=request.type, options=list(request.options))
        return pb.CreateFieldResponse(field=field_pb(f))

    def UpdateField(self, request, context):
        f = self.svc.update_field(current_principal(), request.id,
                                  name=request.name if request.HasField("name") else None,
                                  options=list(request.options) if request.set_options else None)
        return pb.UpdateFieldResponse(field=field_pb(f))

    def DeleteField(self, request, context):
        self.svc.delete_field(current_principal(), request.id)
        return pb.DeleteFieldResponse()
