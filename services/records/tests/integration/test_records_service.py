"""Records over real gRPC, with identity and pipeline as real processes, on SQLite and PostgreSQL:
autonumbers under concurrency, the automation's idempotent CreateTask, events written with the change,
tenants, and the consumer moving records out of removed stages (real broker)."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import types
import uuid

import grpc
import pytest
from sqlalchemy import select

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.events.v1 import records_events_pb2 as rev
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.errors import decode_error
from crm_platform.messaging import wait_for
from crm_records.adapters.orm import OUTBOX, Deal
from crm_records.entrypoints.consumer import make_consumer


def _pipeline(records, method: str):
    """A method of the pipeline's gRPC API."""
    return getattr(pgrpc.PipelineServiceStub(grpc.insecure_channel(records["neighbours"]["pipeline"])), method)


def _deal_funnel(records, company):
    return _pipeline(records, "ListFunnels")(ppb.ListFunnelsRequest(entity="deal"), metadata=company.md()).funnels[0]


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _events(records, company_id: str, event_cls) -> list:
    with records["db"].session() as s:
        rows = s.execute(select(OUTBOX.c.payload).where(OUTBOX.c.company_id == company_id,
                                                        OUTBOX.c.event_type == event_cls.DESCRIPTOR.full_name)
                         .order_by(OUTBOX.c.id)).scalars().all()
    return [event_cls.FromString(p) for p in rows]


def test_autonumbers_are_unique_and_increasing_under_concurrent_saves(records, company):
    stub = records["stub"]
    funnel = _deal_funnel(records, company)
    won = funnel.groups[3].stages[0].id
    _pipeline(records, "CreateField")(ppb.CreateFieldRequest(entity="deal", key="deal_no", name="No",
                                                             type="autonumber"), metadata=company.md())
    _pipeline(records, "UpdateStageRules")(ppb.UpdateStageRulesRequest(rules=ppb.StageRules(
        stage_id=won, autonumber=["deal_no"])), metadata=company.md())

    def create(i):
        return stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}", stage_id=won), metadata=company.md()).deal

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        deals = list(pool.map(create, range(30)))
    numbers = sorted(json.loads(d.fields_json)["deal_no"] for d in deals)
    assert numbers == list(range(1, 31))


def test_automation_creates_a_task_once_per_idempotency_key(records, company):
    stub = records["stub"]
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D"), metadata=company.md()).deal
    req = pb.CreateTaskRequest(type="call", comment="Call the client", due_at="2030-01-01T09:00:00Z",
                               deal_id=deal.id, idempotency_key="process-1:event-9", process_id="p-1")
    first = stub.CreateTask(req, metadata=company.service_md()).task
    again = stub.CreateTask(req, metadata=company.service_md()).task
    assert first.id == again.id and first.process_id == "p-1" and first.responsible_id == company.admin_id
    code, body = _error(lambda: stub.CreateTask(pb.CreateTaskRequest(
        type="call", comment="Another", due_at="2030-01-01T09:00:00Z", deal_id=deal.id,
        idempotency_key="process-1:event-9"), metadata=company.service_md()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "idempotency_key_reused"
    created = [e for e in _events(records, company.id, rev.TaskCreated) if e.task.deal_id == deal.id]
    assert len(created) == 1 and created[0].source == rev.CHANGE_SOURCE_AUTOMATION
    listed = stub.ListTasks(pb.ListTasksRequest(deal_id=deal.id), metadata=company.md()).tasks
    assert [t.id for t in listed] == [first.id]


def test_create_tasks_answers_each_task_and_replays_known_keys(records, company):
    """CreateTasks (the automation's runs of one poll): one answer per task, in order; a refused task
    does not stop the others; a key seen before (by CreateTask or CreateTasks) replays its task."""
    stub = records["stub"]
    deals = [stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}"), metadata=company.md()).deal for i in range(3)]
    stub.DeleteDeal(pb.DeleteDealRequest(id=deals[2].id), metadata=company.md())
    due = "2030-01-01T09:00:00Z"

    def req(deal_id: str, key: str, **kw) -> pb.CreateTaskRequest:
        return pb.CreateTaskRequest(**{"type": "call", "comment": "Follow up", "due_at": due, "deal_id": deal_id,
                                       "idempotency_key": key, "process_id": "p-2", **kw})

    earlier = stub.CreateTask(req(deals[0].id, "p-2:e-0"), metadata=company.service_md()).task
    batch = [req(deals[0].id, "p-2:e-0"), req(deals[1].id, "p-2:e-1"), req(deals[2].id, "p-2:e-2"),
             req(deals[1].id, "p-2:e-3", type="no_such_type"), req(deals[1].id, "p-2:e-0", comment="Other"),
             req(deals[1].id, "p-2:e-1")]
    results = stub.CreateTasks(pb.CreateTasksRequest(tasks=batch), metadata=company.service_md()).results
    errors = [json.loads(r.error_json) if r.error_json else None for r in results]
    assert results[0].task_id == earlier.id and errors[0] is None
    assert results[1].task_id and errors[1] is None
    assert errors[2]["code"] == "validation_failed" and not results[2].task_id
    assert errors[2]["details"]["fields"] == [{"field": "deal_id", "code": "record_deleted", "params": {}}]
    assert errors[3]["details"]["fields"][0]["field"] == "type"
    assert errors[4]["code"] == "idempotency_key_reused"
    assert results[5].task_id == results[1].task_id  # the same key twice in one request: one task
    again = stub.CreateTasks(pb.CreateTasksRequest(tasks=batch[:2]), metadata=company.service_md()).results
    assert [r.task_id for r in again] == [earlier.id, results[1].task_id]
    created = [e for e in _events(records, company.id, rev.TaskCreated) if e.task.process_id == "p-2"]
    assert sorted(e.task.id for e in created) == sorted([earlier.id, results[1].task_id])
    assert all(e.source == rev.CHANGE_SOURCE_AUTOMATION for e in created)
    history = stub.GetDealHistory(pb.GetDealHistoryRequest(id=deals[1].id), metadata=company.md()).entries
    assert [h.action for h in history].count("task_created") == 1
    code, body = _error(lambda: stub.CreateTasks(pb.CreateTasksRequest(tasks=[batch[1]] * 501),
                                                 metadata=company.service_md()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "too_many_tasks"


def test_a_client_responsible_change_moves_deals_in_one_transaction_with_their_events(records, company):
    stub = records["stub"]
    other_id, _ = company.add_user()
    client = stub.CreateClient(pb.CreateClientRequest(name="C", phone=pb.PhoneInput(country="UZ",
                                                                                   number="901234567")),
                               metadata=company.md()).client
    assert client.phone.e164 == "+998901234567"
    deals = [stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}", client_id=client.id), metadata=company.md()).deal
             for i in range(3)]
    stub.UpdateClient(pb.UpdateClientRequest(id=client.id, responsible_id=other_id), metadata=company.md())
    with records["db"].session(company_id=company.id) as s:
        owners = set(s.execute(select(Deal.responsible_id).where(Deal.client_id == client.id)).scalars())
    assert owners == {other_id}
    changed = {e.deal.id: e for e in _events(records, company.id, rev.DealResponsibleChanged)}
    assert set(changed) == {d.id for d in deals}
    assert all(e.previous_responsible_id == company.admin_id and e.source == rev.CHANGE_SOURCE_USER
               for e in changed.values())
    client_events = _events(records, company.id, rev.ClientResponsibleChanged)
    assert [e.client.responsible_id for e in client_events] == [other_id]


def test_rules_hold_on_the_automation_path_and_another_company_sees_nothing(records, company):
    stub = records["stub"]
    funnel = _deal_funnel(records, company)
    stage = funnel.groups[1].stages[0].id
    _pipeline(records, "UpdateStageRules")(ppb.UpdateStageRulesRequest(rules=ppb.StageRules(
        stage_id=stage, required=["amount"])), metadata=company.md())
    code, body = _error(lambda: stub.CreateDeal(pb.CreateDealRequest(title="X", stage_id=stage),
                                                metadata=company.md()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "required_fields_missing"
    code, body = _error(lambda: stub.CreateDeal(pb.CreateDealRequest(title="X", stage_id=stage, amount="1"),
                                                metadata=company.service_md()))
    assert code == grpc.StatusCode.PERMISSION_DENIED  # a process may create tasks, nothing else
    deal = stub.CreateDeal(pb.CreateDealRequest(title="X", stage_id=stage, amount="12.5"),
                           metadata=company.md()).deal
    assert deal.amount_tiyin == 1250
    other = type(company)(records["neighbours"], records["keys"])
    for call in (lambda: stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=other.md()),
                 lambda: stub.UpdateDeal(pb.UpdateDealRequest(id=deal.id, title="Mine"), metadata=other.md()),
                 lambda: stub.DeleteDeal(pb.DeleteDealRequest(id=deal.id), metadata=other.md())):
        code, body = _error(call)
        assert code == grpc.StatusCode.NOT_FOUND and body["code"] == "deal_not_found"
    assert stub.ListDeals(pb.ListDealsRequest(), metadata=other.md()).deals == []


def test_the_consumer_moves_records_out_of_a_removed_stage_once(records, company, broker):
    stub = records["stub"]
    funnel = _deal_funnel(records, company)
    keep, drop = funnel.groups[1].stages[0].id, funnel.groups[1].stages[1].id
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D", stage_id=drop), metadata=company.md()).deal
    # a group of its own: other records processes on the session's broker (automation's tests run some)
    # are in the production group, and would take the partition with the event
    consumer = make_consumer(records["svc"], broker.bootstrap, group=f"records-test-{uuid.uuid4().hex[:6]}")
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        req = ppb.UpdateFunnelRequest(id=funnel.id, version=funnel.version)
        for g in funnel.groups:
            req.groups.append(ppb.StageGroupInput(key=g.key, stages=[
                ppb.StageInput(id=s.id, name=s.name, color=s.color) for s in g.stages if s.id != drop]))
        req.removed.append(ppb.StageRemoval(stage_id=drop, move_to_stage_id=keep))
        _pipeline(records, "UpdateFunnel")(req, metadata=company.md())

        def moved():
            return stub.GetDeal(pb.GetDealRequest(id=deal.id), metadata=company.md()).deal.stage_id == keep

        assert wait_for(moved, 30)
    finally:
        consumer.stop_event.set()
        thread.join(10)
    history = stub.GetDealHistory(pb.GetDealHistoryRequest(id=deal.id), metadata=company.md()).entries
    moves = [h for h in history if h.action == "stage_changed"]
    assert len(moves) == 1 and moves[0].source == "system"
    events = [e for e in _events(records, company.id, rev.DealStageChanged) if e.deal.id == deal.id]
    assert len(events) == 1 and events[0].source == rev.CHANGE_SOURCE_SYSTEM and events[0].previous_stage_id == drop


def test_bulk_responsibility_over_many_deals_is_all_or_nothing(records, company):
    """1,200 deals (more than one batch of ids) change together, or none does when one breaks a rule."""
    from crm_platform.db import utcnow
    from crm_records.adapters.orm import Client, History

    stub, db = records["stub"], records["db"]
    other_id, _ = company.add_user()
    funnel = _deal_funnel(records, company)
    stage = funnel.groups[0].stages[0].id
    client = stub.CreateClient(pb.CreateClientRequest(name="C"), metadata=company.md()).client
    ids = [str(uuid.uuid4()) for _ in range(1200)]
    with db.session(company_id=company.id, write=True) as s:
        now = utcnow()
        s.add_all(Deal(id=i, company_id=company.id, title=f"D{n}", title_lc=f"d{n}", amount=100, client_id=client.id,
                       funnel_id=funnel.id, stage_id=stage, responsible_id=company.admin_id, fields={},
                       created_at=now, updated_at=now, created_by=company.admin_id, deleted=False)
                  for n, i in enumerate(ids))
    resp = stub.SetDealsResponsible(pb.SetDealsResponsibleRequest(ids=ids, responsible_id=other_id, cascade=True),
                                    metadata=company.md())
    assert (resp.deals, resp.clients) == (1200, 1)
    with db.session(company_id=company.id) as s:
        assert set(s.execute(select(Deal.responsible_id)).scalars()) == {other_id}
        assert s.execute(select(Client.responsible_id).where(Client.id == client.id)).scalar_one() == other_id
        assert len(s.execute(select(History.id).where(History.action == "responsible_changed")).all()) == 1201
    assert len(_events(records, company.id, rev.DealResponsibleChanged)) == 1200
    # a rule the last deal breaks stops the whole change
    _pipeline(records, "UpdateStageRules")(ppb.UpdateStageRulesRequest(rules=ppb.StageRules(
        stage_id=stage, one_time=["responsible_id"])), metadata=company.md())
    records["svc"].stages.invalidate(company.id)
    code, body = _error(lambda: stub.SetDealsResponsible(pb.SetDealsResponsibleRequest(
        ids=ids, responsible_id=company.admin_id), metadata=company.md()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and body["code"] == "field_write_once"
    assert body["details"]["deal_id"] == min(ids)
    with db.session(company_id=company.id) as s:
        assert set(s.execute(select(Deal.responsible_id)).scalars()) == {other_id}


def test_a_bulk_change_listing_an_unknown_or_deleted_deal_changes_nothing(records, company):
    """The UPDATEs run right after the locks, before the listed ids are checked: a 404 or 409 must still
    leave every deal and client, the history and the outbox as they were."""
    from crm_records.adapters.orm import Client, History

    stub, db = records["stub"], records["db"]
    other_id, _ = company.add_user()
    clients = [stub.CreateClient(pb.CreateClientRequest(name=f"C{i}"), metadata=company.md()).client
               for i in range(2)]
    deals = [stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}", client_id=clients[i % 2].id),
                             metadata=company.md()).deal for i in range(4)]
    stub.DeleteDeal(pb.DeleteDealRequest(id=deals[3].id), metadata=company.md())

    def state():
        with db.session(company_id=company.id) as s:
            return (sorted(s.execute(select(Deal.id, Deal.responsible_id, Deal.updated_at)).all()),
                    sorted(s.execute(select(Client.id, Client.responsible_id, Client.updated_at)).all()),
                    s.execute(select(History.id).where(History.action == "responsible_changed")).all(),
                    len(_events(records, company.id, rev.DealResponsibleChanged)))

    before = state()
    live = [d.id for d in deals[:3]]
    for ids, status, code in ((live + ["no-such-deal"], grpc.StatusCode.NOT_FOUND, "deal_not_found"),
                              (live + [deals[3].id], grpc.StatusCode.FAILED_PRECONDITION, "record_deleted")):
        got, body = _error(lambda ids=ids: stub.SetDealsResponsible(pb.SetDealsResponsibleRequest(
            ids=ids, responsible_id=other_id, cascade=True), metadata=company.md()))
        assert (got, body["code"]) == (status, code)
        assert state() == before
    resp = stub.SetDealsResponsible(pb.SetDealsResponsibleRequest(ids=live, responsible_id=other_id, cascade=True),
                                    metadata=company.md())
    assert (resp.deals, resp.clients) == (3, 2)
    with db.session(company_id=company.id) as s:
        assert dict(s.execute(select(Deal.id, Deal.responsible_id)).all()) == {
            **{i: other_id for i in live}, deals[3].id: company.admin_id}  # the deleted deal stays as it was


def test_a_bulk_change_that_loses_a_deadlock_runs_again_and_succeeds(records, company):
    """The deals' bulk change locks a deal, then its client; something else holds the client and then
    asks for the deal. PostgreSQL aborts the bulk change (its wait began first, so its deadlock check runs
    first); the change runs again once the other transaction ended, and answers as if nothing happened."""
    if records["db"].is_sqlite:
        pytest.skip("SQLite writers take the database in turn: no row-lock deadlocks")
    import psycopg

    stub, db = records["stub"], records["db"]
    other_id, _ = company.add_user()
    client = stub.CreateClient(pb.CreateClientRequest(name="C"), metadata=company.md()).client
    deal = stub.CreateDeal(pb.CreateDealRequest(title="D", client_id=client.id), metadata=company.md()).deal
    dsn = db.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as watcher:
        holder.execute("SET deadlock_timeout = '20s'")  # the bulk change's backend detects the cycle
        holder.execute("SELECT id FROM clients WHERE id = %s FOR UPDATE", (client.id,))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            bulk = pool.submit(stub.SetDealsResponsible, pb.SetDealsResponsibleRequest(
                ids=[deal.id], responsible_id=other_id, cascade=True), metadata=company.md(), timeout=60)
            assert wait_for(lambda: watcher.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()").fetchone()[0] > 0,
                timeout=30)  # the bulk change holds the deal and waits for the client
            holder.execute("SELECT id FROM deals WHERE id = %s FOR UPDATE", (deal.id,))  # the cycle
            holder.commit()
            resp = bulk.result(timeout=60)
    assert (resp.deals, resp.clients) == (1, 1)
    with db.session(company_id=company.id) as s:
        from crm_records.adapters.orm import Client

        assert s.execute(select(Deal.responsible_id).where(Deal.id == deal.id)).scalar_one() == other_id
        assert s.execute(select(Client.responsible_id).where(Client.id == client.id)).scalar_one() == other_id


def test_board_counters_follow_every_write_path_and_match_a_recount(records, company):
    """The per-stage counters `/board` reads are kept on write: create, edit, move, delete, restore, concurrent
    saves, and a refused save (rolled back) leaves them alone. They must equal a COUNT/SUM over the deals."""
    from sqlalchemy import func

    from crm_records.adapters.orm import StageTotal

    stub, db = records["stub"], records["db"]
    funnel = _deal_funnel(records, company)
    first, second = funnel.groups[0].stages[0].id, funnel.groups[1].stages[0].id

    def counters():
        with db.session(company_id=company.id) as s:
            kept = {r.stage_id: (r.deals, r.amount) for r in s.execute(select(StageTotal).where(
                StageTotal.company_id == company.id, StageTotal.deals != 0)).scalars()}
            counted = {r.stage_id: (r.n, r.total) for r in s.execute(
                select(Deal.stage_id, func.count().label("n"), func.sum(Deal.amount).label("total"))
                .where(Deal.deleted.is_(False)).group_by(Deal.stage_id))}
        assert kept == counted
        return kept

    def create(i):
        return stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}", amount=str(i + 1), stage_id=first),
                               metadata=company.md()).deal

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        deals = list(pool.map(create, range(24)))
    assert counters() == {first: (24, sum(range(1, 25)) * 100)}
    stub.UpdateDeal(pb.UpdateDealRequest(id=deals[0].id, amount="1000"), metadata=company.md())
    stub.UpdateDeal(pb.UpdateDealRequest(id=deals[1].id, stage_id=second), metadata=company.md())
    stub.DeleteDeal(pb.DeleteDealRequest(id=deals[2].id), metadata=company.md())
    stub.DeleteDeal(pb.DeleteDealRequest(id=deals[3].id), metadata=company.md())
    stub.RestoreDeal(pb.RestoreDealRequest(id=deals[3].id), metadata=company.md())
    before = counters()
    assert before == {first: (22, (sum(range(1, 25)) - 1 - 2 - 3 + 1000) * 100), second: (1, 200)}
    with pytest.raises(RuntimeError), db.session(company_id=company.id, write=True) as s:  # flushed, rolled back
        s.get(Deal, deals[4].id).stage_id = second
        s.flush()
        raise RuntimeError("refused")
    assert counters() == before
    board = stub.GetBoard(pb.GetBoardRequest(funnel_id=funnel.id, per_stage=5), metadata=company.md())
    columns = {c.stage_id: c for c in board.columns}
    assert (columns[first].count, columns[first].amount_tiyin, len(columns[first].deals)) == (22, before[first][1], 5)
    assert (columns[second].count, [d.id for d in columns[second].deals]) == (1, [deals[1].id])


def test_concurrent_saves_of_one_record_run_one_after_the_other(records, company):
    """Saves of the same deal at once (on PostgreSQL: transactions on separate connections) take the row in
    turn: each change in the history starts from the value the previous one left, the deal holds the last
    one, and the per-stage counters still equal the deal's stage and amount."""
    from crm_records.adapters.orm import History, StageTotal

    stub, db = records["stub"], records["db"]
    stages = [s.id for g in _deal_funnel(records, company).groups for s in g.stages][:4]
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Contested", amount="1", stage_id=stages[0]),
                           metadata=company.md()).deal

    def save(i):
        changes = [{"stage_id": stages[i % len(stages)]}, {"title": f"Title {i}"}, {"amount": str(i + 2)}][i % 3]
        stub.UpdateDeal(pb.UpdateDealRequest(id=deal.id, **changes), metadata=company.md())

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(save, range(60)))
    with db.session(company_id=company.id) as s:
        stored = s.get(Deal, deal.id)
        kept = {r.stage_id: (r.deals, r.amount) for r in s.execute(select(StageTotal).where(
            StageTotal.company_id == company.id, StageTotal.deals != 0)).scalars()}
        changes = [c for h in s.execute(select(History).where(History.record_id == deal.id).order_by(History.id))
                   .scalars() for c in h.changes]
    assert kept == {stored.stage_id: (1, stored.amount)}
    for field, last in (("stage_id", stored.stage_id), ("title", stored.title)):
        chain = [c for c in changes if c["field"] == field]
        assert chain and [c["old"] for c in chain] == [None] + [c["new"] for c in chain[:-1]], field  # None: created
        assert chain[-1]["new"] == last


def test_saves_fetch_a_stage_context_not_cached_without_holding_the_row(records, company):
    """A save whose deal's stage context is not cached (after a funnel change, or while records cannot trust
    its cache because it does not hear pipeline's events and keeps nothing) still saves: the context is
    fetched with no lock held and the save runs again with it."""
    stub, svc = records["stub"], records["svc"]
    stages = [s.id for g in _deal_funnel(records, company).groups for s in g.stages][:2]
    deal = stub.CreateDeal(pb.CreateDealRequest(title="Cold", amount="5", stage_id=stages[0]),
                           metadata=company.md()).deal
    svc.stages.invalidate(company.id)  # cached again on the next fetch
    assert stub.UpdateDeal(pb.UpdateDealRequest(id=deal.id, title="Cold 2"), metadata=company.md()).deal.title \
        == "Cold 2"
    trusted = svc.stages.trusted
    svc.stages.trusted = lambda: False  # nothing is kept: every save finds the cache empty
    try:
        svc.stages.invalidate(company.id)
        moved = stub.UpdateDeal(pb.UpdateDealRequest(id=deal.id, stage_id=stages[1]), metadata=company.md()).deal
        assert (moved.stage_id, moved.title) == (stages[1], "Cold 2")
        assert svc.stages.cached_context(types.SimpleNamespace(company_id=company.id), stages[1]) is None
    finally:
        svc.stages.trusted = trusted
