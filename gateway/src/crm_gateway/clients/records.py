"""gRPC calls to records, one function each, each with a deadline."""

from __future__ import annotations

from crm.records.v1 import records_service_pb2 as rpb
from crm.records.v1 import records_service_pb2_grpc as rgrpc
from crm_gateway.clients import call, register_backend, stub

SERVICE = "crm.records.v1.RecordsService"
register_backend("records", (SERVICE,), idempotent=[(SERVICE, m) for m in (
    "ListCountries", "GetClient", "ListClients", "GetClientHistory", "GetDeal", "ListDeals", "GetDealHistory",
    "GetBoard", "GetTask", "ListTasks", "ListTaskTypes", "ListNotes", "GetFunnelReport", "GetTeamReport")])


def _records() -> rgrpc.RecordsServiceStub:
    return stub("records", rgrpc.RecordsServiceStub)


def _phone(value: dict | None) -> rpb.PhoneInput | None:
    if value is None:
        return None
    return rpb.PhoneInput(country=value.get("country") or "", number=value.get("number") or "")


def list_countries() -> rpb.ListCountriesResponse:
    return call(_records().ListCountries, rpb.ListCountriesRequest())


# ---- clients -------------------------------------------------------------------------------------
def create_client(*, name: str, phone: dict | None, email: str, responsible_id: str, stage_id: str,
                  fields_json: str) -> rpb.CreateClientResponse:
    req = rpb.CreateClientRequest(name=name, email=email, responsible_id=responsible_id, stage_id=stage_id,
                                  fields_json=fields_json)
    if phone is not None:
        req.phone.CopyFrom(_phone(phone))
    return call(_records().CreateClient, req, timeout=5)


def get_client(client_id: str) -> rpb.GetClientResponse:
    return call(_records().GetClient, rpb.GetClientRequest(id=client_id))


def update_client(client_id: str, changes: dict) -> rpb.UpdateClientResponse:
    req = rpb.UpdateClientRequest(id=client_id)
    for key in ("name", "email", "responsible_id", "stage_id", "fields_json"):
        if key in changes:
            setattr(req, key, changes[key])
    if "phone" in changes:
        req.phone.CopyFrom(_phone(changes["phone"] or {}))
    return call(_records().UpdateClient, req, timeout=5)


def delete_client(client_id: str) -> rpb.DeleteClientResponse:
    return call(_records().DeleteClient, rpb.DeleteClientRequest(id=client_id))


def restore_client(client_id: str) -> rpb.RestoreClientResponse:
    return call(_records().RestoreClient, rpb.RestoreClientRequest(id=client_id))


def list_clients(**filters) -> rpb.ListClientsResponse:
    return call(_records().ListClients, rpb.ListClientsRequest(**filters))


def set_clients_responsible(ids: list[str], responsible_id: str, cascade: bool) -> rpb.SetClientsResponsibleResponse:
    return call(_records().SetClientsResponsible, rpb.SetClientsResponsibleRequest(
        ids=ids, responsible_id=responsible_id, cascade=cascade), timeout=30)


def client_history(client_id: str, limit: int, cursor: str) -> rpb.GetClientHistoryResponse:
    return call(_records().GetClientHistory, rpb.GetClientHistoryRequest(id=client_id, limit=limit, cursor=cursor))


# ---- deals ---------------------------------------------------------------------------------------
def create_deal(**fields) -> rpb.CreateDealResponse:
    return call(_records().CreateDeal, rpb.CreateDealRequest(**fields), timeout=5)


def get_deal(deal_id: str, history_limit: int = 0) -> rpb.GetDealResponse:
    return call(_records().GetDeal, rpb.GetDealRequest(id=deal_id, history_limit=history_limit))


def update_deal(deal_id: str, changes: dict) -> rpb.UpdateDealResponse:
    return call(_records().UpdateDeal, rpb.UpdateDealRequest(id=deal_id, **changes), timeout=5)


def delete_deal(deal_id: str) -> rpb.DeleteDealResponse:
    return call(_records().DeleteDeal, rpb.DeleteDealRequest(id=deal_id))


def restore_deal(deal_id: str) -> rpb.RestoreDealResponse:
    return call(_records().RestoreDeal, rpb.RestoreDealRequest(id=deal_id))


def list_deals(**filters) -> rpb.ListDealsResponse:
    return call(_records().ListDeals, rpb.ListDealsRequest(**filters))


def set_deals_responsible(ids: list[str], responsible_id: str, cascade: bool) -> rpb.SetDealsResponsibleResponse:
    return call(_records().SetDealsResponsible, rpb.SetDealsResponsibleRequest(
        ids=ids, responsible_id=responsible_id, cascade=cascade), timeout=30)


def deal_history(deal_id: str, limit: int, cursor: str) -> rpb.GetDealHistoryResponse:
    return call(_records().GetDealHistory, rpb.GetDealHistoryRequest(id=deal_id, limit=limit, cursor=cursor))


def board(funnel_id: str, per_stage: int) -> rpb.GetBoardResponse:
    return call(_records().GetBoard, rpb.GetBoardRequest(funnel_id=funnel_id, per_stage=per_stage))


# ---- tasks ---------------------------------------------------------------------------------------
def create_task(**fields) -> rpb.CreateTaskResponse:
    return call(_records().CreateTask, rpb.CreateTaskRequest(**fields), timeout=5)


def update_task(task_id: str, changes: dict) -> rpb.UpdateTaskResponse:
    return call(_records().UpdateTask, rpb.UpdateTaskRequest(id=task_id, **changes))


def delete_task(task_id: str) -> rpb.DeleteTaskResponse:
    return call(_records().DeleteTask, rpb.DeleteTaskRequest(id=task_id))


def list_tasks(**filters) -> rpb.ListTasksResponse:
    return call(_records().ListTasks, rpb.ListTasksRequest(**filters))


def list_task_types() -> rpb.ListTaskTypesResponse:
    return call(_records().ListTaskTypes, rpb.ListTaskTypesRequest())


def create_task_type(name: str) -> rpb.CreateTaskTypeResponse:
    return call(_records().CreateTaskType, rpb.CreateTaskTypeRequest(name=name))


# ---- notes ---------------------------------------------------------------------------------------
def create_note(entity: str, record_id: str, text: str) -> rpb.CreateNoteResponse:
    return call(_records().CreateNote, rpb.CreateNoteRequest(entity=entity, record_id=record_id, text=text))


def list_notes(entity: str, record_id: str, limit: int, cursor: str) -> rpb.ListNotesResponse:
    return call(_records().ListNotes, rpb.ListNotesRequest(entity=entity, record_id=record_id, limit=limit,
                                                           cursor=cursor))


def update_note(note_id: str, text: str) -> rpb.UpdateNoteResponse:
    return call(_records().UpdateNote, rpb.UpdateNoteRequest(id=note_id, text=text))


def delete_note(note_id: str) -> rpb.DeleteNoteResponse:
    return call(_records().DeleteNote, rpb.DeleteNoteRequest(id=note_id))


# ---- reports -------------------------------------------------------------------------------------
def _period(funnel_id: str, from_date: str, to_date: str) -> rpb.ReportPeriod:
    return rpb.ReportPeriod(funnel_id=funnel_id, from_date=from_date, to_date=to_date)


def funnel_report(funnel_id: str, from_date: str, to_date: str, responsible_id: str) -> rpb.GetFunnelReportResponse:
    return call(_records().GetFunnelReport, rpb.GetFunnelReportRequest(
        period=_period(funnel_id, from_date, to_date), responsible_id=responsible_id))


def team_report(funnel_id: str, from_date: str, to_date: str) -> rpb.GetTeamReportResponse:
    return call(_records().GetTeamReport, rpb.GetTeamReportRequest(period=_period(funnel_id, from_date, to_date)))
