"""gRPC servicer of automation: proto in, use case, proto out."""

from __future__ import annotations

from crm.automation.v1 import automation_service_pb2 as pb
from crm.automation.v1 import automation_service_pb2_grpc as pb_grpc
from crm_platform.context import current_principal
from crm_platform.db import rfc3339
from crm_automation.domain.model import Definition


def process_pb(p) -> pb.Process:
    return pb.Process(id=p.id, name=p.name, type=p.type,
                      trigger=pb.Trigger(event=p.trigger_event, stage_id=p.trigger_stage_id),
                      conditions=pb.Conditions(funnel_id=p.funnel_id, stage_group=p.stage_group), due=p.due,
                      assignee=p.assignee, task_type=p.task_type, comment=p.comment, enabled=p.enabled,
                      author_id=p.author_id, created_at=rfc3339(p.created_at), updated_at=rfc3339(p.updated_at))


def run_pb(r) -> pb.ProcessRun:
    return pb.ProcessRun(id=r.id, process_id=r.process_id, event_id=r.event_id, event=r.event,
                         record_type=r.record_type, record_id=r.record_id, outcome=r.outcome, task_id=r.task_id,
                         error=r.error, attempts=r.attempts, created_at=rfc3339(r.created_at),
                         finished_at=rfc3339(r.finished_at))


def definition(msg: pb.ProcessInput) -> Definition:
    return Definition(name=msg.name.strip(), type=msg.type.strip(), trigger_event=msg.trigger.event.strip(),
                      trigger_stage_id=msg.trigger.stage_id.strip(), funnel_id=msg.conditions.funnel_id.strip(),
                      stage_group=msg.conditions.stage_group.strip(), due=msg.due.strip(),
                      assignee=msg.assignee.strip(), task_type=msg.task_type.strip(), comment=msg.comment.strip(),
                      enabled=msg.enabled)


class ProcessService(pb_grpc.ProcessServiceServicer):
    """Business process definitions and their runs."""

    def __init__(self, service):
        self.svc = service

    def ListProcesses(self, request, context):
        return pb.ListProcessesResponse(processes=[process_pb(p) for p in self.svc.list(current_principal())])

    def GetProcess(self, request, context):
        return pb.GetProcessResponse(process=process_pb(self.svc.get(current_principal(), request.id)))

    def CreateProcess(self, request, context):
        return pb.CreateProcessResponse(process=process_pb(
            self.svc.create(current_principal(), definition(request.process))))

    def UpdateProcess(self, request, context):
        return pb.UpdateProcessResponse(process=process_pb(
            self.svc.update(current_principal(), request.id, definition(request.process))))

    def DeleteProcess(self, request, context):
        self.svc.delete(current_principal(), request.id)
        return pb.DeleteProcessResponse()

    def ListProcessRuns(self, request, context):
        runs, cursor = self.svc.runs(current_principal(), request.process_id, request.limit, request.cursor)
        return pb.ListProcessRunsResponse(runs=[run_pb(r) for r in runs], next_cursor=cursor)
