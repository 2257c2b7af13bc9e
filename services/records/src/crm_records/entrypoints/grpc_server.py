"""gRPC servicer of records: proto in, use case, proto out. No rules here."""

from __future__ import annotations

import functools
import json

from crm.records.v1 import records_service_pb2 as pb
from crm.records.v1 import records_service_pb2_grpc as pb_grpc
from crm_platform.context import current_principal
from crm_platform.db import utcnow
from crm_platform.errors import InvalidArgument
from crm_records.domain import model
from crm_records.service_layer.services import NewTask


def new_task(request: pb.CreateTaskRequest) -> NewTask:
    return NewTask(type=request.type, comment=request.comment, due_at=request.due_at,
                   responsible_id=request.responsible_id, deal_id=request.deal_id, client_id=request.client_id,
                   idempotency_key=request.idempotency_key, process_id=request.process_id)


def client_pb(c) -> pb.Client:
    msg = pb.Client(id=c.id, name=c.name, email=c.email or "", funnel_id=c.funnel_id, stage_id=c.stage_id,
                    responsible_id=c.responsible_id, fields_json=json.dumps(c.fields or {}, ensure_ascii=False),
                    deleted=bool(c.deleted), deleted_at=model.iso(c.deleted_at), deleted_by=c.deleted_by or "",
                    created_at=model.iso(c.created_at), updated_at=model.iso(c.updated_at), created_by=c.created_by)
    if c.phone:
        msg.phone.CopyFrom(pb.Phone(country=c.phone_country or "", number=model.national_digits(c.phone),
                                    e164=c.phone))
    return msg


def stage_ref_pb(stage: model.BoardStage) -> pb.DealStage:
    return pb.DealStage(id=stage.stage_id, name=stage.name, color=stage.color, group_key=stage.group_key)


def deal_pb(d) -> pb.Deal:
    return pb.Deal(id=d.id, title=d.title, amount_tiyin=d.amount, amount=model.format_amount(d.amount),
                   client_id=d.client_id or "", funnel_id=d.funnel_id, stage_id=d.stage_id,
                   responsible_id=d.responsible_id, fields_json=json.dumps(d.fields or {}, ensure_ascii=False),
                   deleted=bool(d.deleted), deleted_at=model.iso(d.deleted_at), deleted_by=d.deleted_by or "",
                   created_at=model.iso(d.created_at), updated_at=model.iso(d.updated_at), created_by=d.created_by)


def task_pb(t, now=None) -> pb.Task:
    return pb.Task(id=t.id, type=t.type, comment=t.comment or "", due_at=model.iso(t.due_at),
                   responsible_id=t.responsible_id, deal_id=t.deal_id or "", client_id=t.client_id or "",
                   done=bool(t.done), done_at=model.iso(t.done_at), created_at=model.iso(t.created_at),
                   created_by=t.created_by, process_id=t.process_id or "",
                   overdue=model.overdue(bool(t.done), t.due_at, now or utcnow()))


def note_pb(n) -> pb.Note:
    return pb.Note(id=n.id, entity=n.entity, record_id=n.record_id, text=n.text, author_id=n.author_id,
                   created_at=model.iso(n.created_at), updated_at=model.iso(n.updated_at))


def history_pb(h) -> pb.HistoryEntry:
    return pb.HistoryEntry(id=str(h.id), at=model.iso(h.at), actor_id=h.actor_id, source=h.source, action=h.action,
                           changes_json=json.dumps(h.changes or [], ensure_ascii=False, default=str))


def _strings(message, prefix: str = ""):
    """Every (path, text) of a request, nested messages included."""
    for field, value in message.ListFields():
        name = prefix + field.name
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, str):
                yield name, item
            elif hasattr(item, "ListFields"):
                yield from _strings(item, name + ".")


def check_request(request) -> None:
    """Refuse NUL characters anywhere in a request: no text column can store them (PostgreSQL)."""
    bad = sorted({name for name, text in _strings(request) if "\x00" in text})
    if bad:
        raise InvalidArgument("validation_failed", "Text must not contain NUL characters",
                              fields=[{"field": name, "code": "invalid_value", "params": {}} for name in bad])


def _checked(method):
    @functools.wraps(method)
    def wrapper(self, request, context):
        check_request(request)
        return method(self, request, context)

    return wrapper


def _optional(request, names) -> dict:
    return {n: getattr(request, n) for n in names if request.HasField(n)}


class RecordsService(pb_grpc.RecordsServiceServicer):
    """Clients, deals, tasks of the caller's company."""

    def __init__(self, service):
        self.svc = service

    def ListCountries(self, request, context):
        return pb.ListCountriesResponse(countries=[
            pb.Country(code=c.code, dialing_code=c.dialing_code, lengths=list(c.lengths), example=c.example)
            for c in self.svc.list_countries()])

    # clients
    def CreateClient(self, request, context):
        phone = (request.phone.country, request.phone.number) if request.HasField("phone") else None
        c = self.svc.create_client(current_principal(), name=request.name, phone=phone, email=request.email,
                                   responsible_id=request.responsible_id, stage_id=request.stage_id,
                                   fields_json=request.fields_json, idempotency_key=request.idempotency_key)
        return pb.CreateClientResponse(client=client_pb(c))

    def GetClient(self, request, context):
        return pb.GetClientResponse(client=client_pb(self.svc.get_client(current_principal(), request.id)))

    def UpdateClient(self, request, context):
        changes = _optional(request, ("name", "email", "responsible_id", "stage_id", "fields_json"))
        if request.HasField("phone"):
            changes["phone"] = (request.phone.country, request.phone.number)
        return pb.UpdateClientResponse(client=client_pb(self.svc.update_client(current_principal(), request.id,
                                                                               changes)))

    def DeleteClient(self, request, context):
        return pb.DeleteClientResponse(client=client_pb(self.svc.delete_client(current_principal(), request.id)))

    def RestoreClient(self, request, context):
        return pb.RestoreClientResponse(client=client_pb(self.svc.restore_client(current_principal(), request.id)))

    def ListClients(self, request, context):
        rows, cursor = self.svc.list_clients(
            current_principal(), funnel_id=request.funnel_id, stage_id=request.stage_id,
            responsible_id=request.responsible_id, q=request.q, deleted=request.deleted, sort=request.sort,
            limit=request.limit, cursor=request.cursor)
        return pb.ListClientsResponse(clients=[client_pb(c) for c in rows], next_cursor=cursor)

    def SetClientsResponsible(self, request, context):
        clients, deals, tasks = self.svc.set_clients_responsible(current_principal(), list(request.ids),
                                                                 request.responsible_id, request.cascade)
        return pb.SetClientsResponsibleResponse(clients=clients, deals=deals, tasks=tasks)

    def GetClientHistory(self, request, context):
        rows, cursor = self.svc.client_history(current_principal(), request.id, request.limit, request.cursor)
        return pb.GetClientHistoryResponse(entries=[history_pb(h) for h in rows], next_cursor=cursor)

    # deals
    def CreateDeal(self, request, context):
        d = self.svc.create_deal(current_principal(), title=request.title, amount=request.amount,
                                 client_id=request.client_id, stage_id=request.stage_id,
                                 responsible_id=request.responsible_id, fields_json=request.fields_json,
                                 idempotency_key=request.idempotency_key)
        return pb.CreateDealResponse(deal=deal_pb(d))

    def GetDeal(self, request, context):
        p = current_principal()
        deal, client, tasks, history = self.svc.deal_card(p, request.id, request.history_limit)
        resp = pb.GetDealResponse(deal=deal_pb(deal), open_tasks=[task_pb(t) for t in tasks],
                                  history=[history_pb(h) for h in history])
        if client is not None:
            resp.client.CopyFrom(client_pb(client))
        stage, user = self.svc.card_refs(p, deal)
        if stage is not None:
            resp.stage.CopyFrom(stage_ref_pb(stage))
        if user is not None:
            resp.responsible.CopyFrom(pb.UserRef(id=user.id, name=user.name, active=user.active))
        return resp

    def UpdateDeal(self, request, context):
        changes = _optional(request, ("title", "amount", "client_id", "stage_id", "responsible_id", "fields_json"))
        return pb.UpdateDealResponse(deal=deal_pb(self.svc.update_deal(current_principal(), request.id, changes)))

    def DeleteDeal(self, request, context):
        return pb.DeleteDealResponse(deal=deal_pb(self.svc.delete_deal(current_principal(), request.id)))

    def RestoreDeal(self, request, context):
        return pb.RestoreDealResponse(deal=deal_pb(self.svc.restore_deal(current_principal(), request.id)))

    def ListDeals(self, request, context):
        rows, cursor = self.svc.list_deals(
            current_principal(), funnel_id=request.funnel_id, stage_id=request.stage_id,
            responsible_id=request.responsible_id, client_id=request.client_id, q=request.q,
            deleted=request.deleted, sort=request.sort, limit=request.limit, cursor=request.cursor)
        return pb.ListDealsResponse(deals=[deal_pb(d) for d in rows], next_cursor=cursor)

    def SetDealsResponsible(self, request, context):
        deals, clients = self.svc.set_deals_responsible(current_principal(), list(request.ids),
                                                        request.responsible_id, request.cascade)
        return pb.SetDealsResponsibleResponse(deals=deals, clients=clients)

    def GetDealHistory(self, request, context):
        rows, cursor = self.svc.deal_history(current_principal(), request.id, request.limit, request.cursor)
        return pb.GetDealHistoryResponse(entries=[history_pb(h) for h in rows], next_cursor=cursor)

    def GetBoard(self, request, context):
        columns = self.svc.board(current_principal(), request.funnel_id, request.per_stage)
        return pb.GetBoardResponse(columns=[
            pb.BoardColumn(stage_id=c.stage_id, count=c.count, amount_tiyin=c.amount,
                           deals=[deal_pb(d) for d in c.deals],
                           stage=stage_ref_pb(c.stage) if c.stage else None)
            for c in columns])

    # tasks
    def CreateTask(self, request, context):
        t = self.svc.create_task(current_principal(), new_task(request))
        return pb.CreateTaskResponse(task=task_pb(t))

    def CreateTasks(self, request, context):
        results = self.svc.create_tasks(current_principal(), [new_task(r) for r in request.tasks])
        return pb.CreateTasksResponse(results=[
            pb.CreateTaskResult(task_id=task_id, error_json=json.dumps(error.body(), default=str) if error else "")
            for task_id, error in results])

    def GetTask(self, request, context):
        return pb.GetTaskResponse(task=task_pb(self.svc.get_task(current_principal(), request.id)))

    def UpdateTask(self, request, context):
        changes = _optional(request, ("type", "comment", "due_at", "responsible_id", "done"))
        return pb.UpdateTaskResponse(task=task_pb(self.svc.update_task(current_principal(), request.id, changes)))

    def ListTasks(self, request, context):
        rows, cursor = self.svc.list_tasks(
            current_principal(), deal_id=request.deal_id, client_id=request.client_id,
            responsible_id=request.responsible_id, done=request.done if request.HasField("done") else None,
            due=request.due, limit=request.limit, cursor=request.cursor)
        now = utcnow()
        return pb.ListTasksResponse(tasks=[task_pb(t, now) for t in rows], next_cursor=cursor)

    def ListTaskTypes(self, request, context):
        return pb.ListTaskTypesResponse(types=[pb.TaskType(key=k, name=n, builtin=b)
                                               for k, n, b in self.svc.task_types(current_principal())])

    def CreateTaskType(self, request, context):
        k, n, b = self.svc.create_task_type(current_principal(), request.name)
        return pb.CreateTaskTypeResponse(type=pb.TaskType(key=k, name=n, builtin=b))

    def DeleteTask(self, request, context):
        return pb.DeleteTaskResponse(task=task_pb(self.svc.delete_task(current_principal(), request.id)))

    # notes
    def CreateNote(self, request, context):
        n = self.svc.create_note(current_principal(), request.entity, request.record_id, request.text)
        return pb.CreateNoteResponse(note=note_pb(n))

    def ListNotes(self, request, context):
        rows, cursor = self.svc.list_notes(current_principal(), request.entity, request.record_id, request.limit,
                                           request.cursor)
        return pb.ListNotesResponse(notes=[note_pb(n) for n in rows], next_cursor=cursor)

    def UpdateNote(self, request, context):
        return pb.UpdateNoteResponse(note=note_pb(self.svc.update_note(current_principal(), request.id,
                                                                       request.text)))

    def DeleteNote(self, request, context):
        return pb.DeleteNoteResponse(note=note_pb(self.svc.delete_note(current_principal(), request.id)))


    # reports
    def GetFunnelReport(self, request, context):
        per = request.period
        r = self.svc.funnel_report(current_principal(), per.funnel_id, per.from_date, per.to_date,
                                   request.responsible_id)
        resp = pb.GetFunnelReportResponse(
            funnel_id=r.period.funnel_id, from_date=r.period.first.isoformat(), to_date=r.period.last.isoformat(),
            time_zone=r.period.time_zone, responsible_id=r.responsible_id, created=r.created, won=r.won,
            lost=r.lost, won_amount_tiyin=r.won_amount,
            stages=[pb.StageReport(stage=stage_ref_pb(f.stage), entered=f.entered, still_here=f.still_here,
                                   moved_on=f.moved_on, won_later=f.won_later) for f in r.stages],
            weeks=[pb.WeekReport(week_start=w.week_start.isoformat(), won=w.won, lost=w.lost,
                                 won_amount_tiyin=w.won_amount) for w in r.weeks])
        if r.average_days_to_win is not None:
            resp.average_days_to_win = r.average_days_to_win
        return resp

    def GetTeamReport(self, request, context):
        per = request.period
        r = self.svc.team_report(current_principal(), per.funnel_id, per.from_date, per.to_date)
        return pb.GetTeamReportResponse(
            funnel_id=r.period.funnel_id, from_date=r.period.first.isoformat(), to_date=r.period.last.isoformat(),
            time_zone=r.period.time_zone,
            rows=[pb.ResponsibleReport(user=pb.UserRef(id=t.user.id, name=t.user.name, active=t.user.active),
                                       open_deals=t.open_deals, open_amount_tiyin=t.open_amount, won=t.won,
                                       won_amount_tiyin=t.won_amount, lost=t.lost, overdue_tasks=t.overdue_tasks)
                  for t in r.rows])


for _name in pb.DESCRIPTOR.services_by_name["RecordsService"].methods_by_name:
    setattr(RecordsService, _name, _checked(getattr(RecordsService, _name)))
