"""Pipeline over real gRPC on a free port and its consumer on the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as _dt
import threading
import uuid

import grpc
import pytest
from kafka import KafkaProducer
from sqlalchemy import func, select

from crm.identity.events.v1 import identity_events_pb2 as identity_ev
from crm.pipeline.v1 import pipeline_service_pb2 as pb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pb_grpc
from crm_platform.auth import ACCESS, TokenSigner, TokenVerifier, read_key
from crm_platform.db import Database
from crm_platform.errors import decode_error
from crm_platform.messaging import IdempotentConsumer, wait_for
from crm_platform.rpc import GrpcServer
from crm_pipeline.__main__ import MIGRATIONS
from crm_pipeline.adapters.orm import OUTBOX, PROCESSED_EVENTS, Funnel, Stage
from crm_pipeline.entrypoints.consumer import subscriptions
from crm_pipeline.entrypoints.grpc_server import PipelineService as PipelineServicer
from crm_pipeline.service_layer.services import PipelineService

ADMIN = ("admin",)


@pytest.fixture(scope="module")
def server(database_url, keys):
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    svc = PipelineService(db)
    srv = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"])))
    srv.add(pb_grpc.add_PipelineServiceServicer_to_server, PipelineServicer(svc), "crm.pipeline.v1.PipelineService")
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    signer = TokenSigner(read_key(keys["access_private"]))
    stub = pb_grpc.PipelineServiceStub(channel)
    yield {"funnels": stub, "fields": stub, "svc": svc,
           "db": db, "signer": signer}
    channel.close()
    srv.stop(1)
    db.dispose()


def _md(server, company_id: str, permissions=ADMIN, user_id: str | None = None):
    token = server["signer"].sign(typ=ACCESS, company_id=company_id, user_id=user_id or str(uuid.uuid4()),
                                  ttl=_dt.timedelta(minutes=5), permissions=permissions, session_id="s")
    return [("authorization", f"Bearer {token}")]


def _error(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), decode_error(info.value.trailing_metadata())


def _edit_request(funnel: pb.Funnel, **changes) -> pb.UpdateFunnelRequest:
    req = pb.UpdateFunnelRequest(id=funnel.id, version=funnel.version, groups=[
        pb.StageGroupInput(key=g.key, stages=[pb.StageInput(id=s.id, name=s.name, color=s.color) for s in g.stages])
        for g in funnel.groups])
    for key, value in changes.items():
        setattr(req, key, value)
    return req


def _company_funnels(server, company_id):
    with server["db"].session(company_id=company_id) as s:
        return s.execute(select(func.count()).select_from(Funnel)).scalar_one()


def test_funnels_are_seeded_on_first_read_and_served_in_group_order(server):
    cid = str(uuid.uuid4())
    md = _md(server, cid)
    funnels = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=md).funnels
    assert [f.entity for f in funnels] == ["deal", "client"]
    assert all([g.key for g in f.groups] == ["unprocessed", "in_progress", "failed", "successful"] for f in funnels)
    again = server["funnels"].ListFunnels(pb.ListFunnelsRequest(entity="client"), metadata=md).funnels
    assert [f.id for f in again] == [funnels[1].id]
    assert _company_funnels(server, cid) == 2


def test_stage_context_carries_the_stage_its_entitys_fields_and_rules(server):
    cid = str(uuid.uuid4())
    md = _md(server, cid)
    funnels = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=md).funnels
    for entity, key, ftype in (("deal", "signed_on", "autodate"), ("deal", "source", "select"),
                               ("client", "inn", "text")):
        server["fields"].CreateField(pb.CreateFieldRequest(entity=entity, key=key, name=key, type=ftype,
                                                           options=["Web"] if ftype == "select" else []), metadata=md)
    stage = funnels[0].groups[1].stages[0]
    server["funnels"].UpdateStageRules(pb.UpdateStageRulesRequest(rules=pb.StageRules(
        stage_id=stage.id, required=["amount", "source"], autodate=["signed_on"])), metadata=md)
    got = server["funnels"].GetStageContext(pb.GetStageContextRequest(stage_id=stage.id), metadata=md)
    assert (got.stage.id, got.stage.funnel_id, got.stage.group_key, got.stage.name) == \
        (stage.id, funnels[0].id, "in_progress", stage.name)
    assert got.entity == "deal" and got.funnel_version == 1
    assert [(f.key, f.type, list(f.options)) for f in got.fields] == [("signed_on", "autodate", []),
                                                                       ("source", "select", ["Web"])]
    assert list(got.rules.required) == ["amount", "source"] and list(got.rules.autodate) == ["signed_on"]
    code, body = _error(lambda: server["funnels"].GetStageContext(pb.GetStageContextRequest(stage_id="nope"),
                                                                    metadata=md))
    assert code == grpc.StatusCode.NOT_FOUND and body["code"] == "stage_not_found"
    with server["db"].session() as s:  # every field and rule change tells records' caches, keyed by entity
        changed = s.execute(select(OUTBOX.c.topic, OUTBOX.c.aggregate_id).where(
            OUTBOX.c.event_type == "crm.pipeline.events.v1.FieldsChanged", OUTBOX.c.company_id == cid)
            .order_by(OUTBOX.c.id)).all()
    assert [tuple(r) for r in changed] == [("crm.pipeline.funnel.v1", e) for e in ("deal", "deal", "client", "deal")]


def test_the_default_stage_is_the_first_unprocessed_stage_and_follows_edits(server):
    md = _md(server, str(uuid.uuid4()))
    first = server["funnels"].GetDefaultStage(pb.GetDefaultStageRequest(entity="client"), metadata=md).stage
    funnel = server["funnels"].ListFunnels(pb.ListFunnelsRequest(entity="client"), metadata=md).funnels[0]
    assert first.id == funnel.groups[0].stages[0].id and first.group_key == "unprocessed"
    req = _edit_request(funnel)
    req.groups[0].stages.insert(0, pb.StageInput(name="Inbox", color="#000000"))
    server["funnels"].UpdateFunnel(req, metadata=md)
    now = server["funnels"].GetDefaultStage(pb.GetDefaultStageRequest(entity="client"), metadata=md).stage
    assert now.name == "Inbox" and now.position == 0 and now.funnel_id == funnel.id
    code, body = _error(lambda: server["funnels"].GetDefaultStage(pb.GetDefaultStageRequest(entity="lead"),
                                                                    metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_calls_need_a_token_and_writes_need_manage_funnels(server):
    cid = str(uuid.uuid4())
    code, body = _error(lambda: server["funnels"].ListFunnels(pb.ListFunnelsRequest()))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    reader = _md(server, cid, permissions=("edit_phone",))
    funnel = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=reader).funnels[0]
    for call in (lambda: server["funnels"].UpdateFunnel(_edit_request(funnel), metadata=reader),
                 lambda: server["fields"].CreateField(pb.CreateFieldRequest(
                     entity="deal", key="k", name="K", type="text"), metadata=reader)):
        code, body = _error(call)
        assert code == grpc.StatusCode.PERMISSION_DENIED and body["details"]["permission"] == "manage_funnels"
    editor = _md(server, cid, permissions=("manage_funnels",))
    assert server["funnels"].UpdateFunnel(_edit_request(funnel), metadata=editor).funnel.version == 2


def test_another_companys_funnel_stage_and_field_are_not_found(server):
    a, b = _md(server, str(uuid.uuid4())), _md(server, str(uuid.uuid4()))
    funnel = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=a).funnels[0]
    field = server["fields"].CreateField(pb.CreateFieldRequest(entity="deal", key="k", name="K",
                                                               type="text"), metadata=a).field
    stage_id = funnel.groups[0].stages[0].id
    for call, code_name in (
            (lambda: server["funnels"].GetFunnel(pb.GetFunnelRequest(id=funnel.id), metadata=b), "funnel_not_found"),
            (lambda: server["funnels"].UpdateFunnel(_edit_request(funnel), metadata=b), "funnel_not_found"),
            (lambda: server["funnels"].GetStageContext(pb.GetStageContextRequest(stage_id=stage_id), metadata=b),
             "stage_not_found"),
            (lambda: server["funnels"].UpdateStageRules(pb.UpdateStageRulesRequest(
                rules=pb.StageRules(stage_id=stage_id)), metadata=b), "stage_not_found"),
            (lambda: server["fields"].DeleteField(pb.DeleteFieldRequest(id=field.id), metadata=b), "field_not_found")):
        code, body = _error(call)
        assert code == grpc.StatusCode.NOT_FOUND and body["code"] == code_name
    assert server["fields"].ListFields(pb.ListFieldsRequest(), metadata=b).fields == []


def test_two_editors_saving_the_same_version_one_wins(server):
    md = _md(server, str(uuid.uuid4()))
    funnel = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=md).funnels[0]
    results: list = []

    def save(name):
        req = _edit_request(funnel)
        req.groups[0].stages[0].name = name
        try:
            results.append(server["funnels"].UpdateFunnel(req, metadata=md).funnel)
        except grpc.RpcError as exc:
            results.append(exc)

    threads = [threading.Thread(target=save, args=(f"Editor {i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if isinstance(r, pb.Funnel)]
    lost = [r for r in results if not isinstance(r, pb.Funnel)]
    assert len(won) == 1 and len(lost) == 3
    assert all(decode_error(e.trailing_metadata())["code"] == "stale_version" for e in lost)
    now = server["funnels"].GetFunnel(pb.GetFunnelRequest(id=funnel.id), metadata=md).funnel
    assert now.version == 2 and now.groups[0].stages[0].name == won[0].groups[0].stages[0].name


def test_removed_stages_remember_where_their_records_went(server):
    cid = str(uuid.uuid4())
    md = _md(server, cid)
    funnel = server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=md).funnels[0]
    contacted, offer = funnel.groups[1].stages
    req = _edit_request(funnel)
    del req.groups[1].stages[1]
    req.removed.add(stage_id=offer.id, move_to_stage_id=contacted.id)
    funnel = server["funnels"].UpdateFunnel(req, metadata=md).funnel
    req = _edit_request(funnel)
    req.groups[1].stages[0].id = ""  # replace "Contacted" by a new stage: its records go to "New"
    req.removed.add(stage_id=contacted.id, move_to_stage_id=funnel.groups[0].stages[0].id)
    server["funnels"].UpdateFunnel(req, metadata=md)
    with server["db"].session(company_id=cid) as s:
        moved = dict(s.execute(select(Stage.id, Stage.moved_to_stage_id).where(Stage.removed_at.is_not(None))).all())
    assert moved == {offer.id: funnel.groups[0].stages[0].id, contacted.id: funnel.groups[0].stages[0].id}
    code, _ = _error(lambda: server["funnels"].GetStageContext(pb.GetStageContextRequest(stage_id=offer.id),
                                                               metadata=md))
    assert code == grpc.StatusCode.NOT_FOUND


def test_company_created_is_applied_once(server):
    """Delivering the same CompanyCreated twice seeds the funnels once (processed_events + state guard)."""
    cid = str(uuid.uuid4())
    consumer = IdempotentConsumer(server["db"], PROCESSED_EVENTS, "127.0.0.1:1", f"t-{uuid.uuid4().hex[:6]}",
                                  subscriptions(server["svc"]))
    msg = identity_ev.CompanyCreated(name="Co", crm_id="K7M2Q9XD")
    msg.metadata.event_id, msg.metadata.company_id, msg.metadata.actor_id = str(uuid.uuid4()), cid, "u1"
    sub = consumer.subs[identity_ev.CompanyCreated.DESCRIPTOR.full_name]
    assert consumer.apply(sub, msg) is True
    assert consumer.apply(sub, msg) is False
    replay = identity_ev.CompanyCreated()
    replay.CopyFrom(msg)
    replay.metadata.event_id = str(uuid.uuid4())  # the same fact re-published under a new id
    assert consumer.apply(sub, replay) is True
    assert _company_funnels(server, cid) == 2
    with server["db"].session() as s:
        events = s.execute(select(OUTBOX.c.event_type).where(OUTBOX.c.company_id == cid)).scalars().all()
    assert events == ["crm.pipeline.events.v1.FunnelCreated"] * 2


def test_the_consumer_seeds_a_company_from_the_broker(server, broker):
    cid = str(uuid.uuid4())
    consumer = IdempotentConsumer(server["db"], PROCESSED_EVENTS, broker.bootstrap, f"t-{uuid.uuid4().hex[:6]}",
                                  subscriptions(server["svc"]))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        msg = identity_ev.CompanyCreated(name="Co", crm_id="K7M2Q9XD", admin_user_id="u1")
        msg.metadata.event_id, msg.metadata.company_id, msg.metadata.actor_id = str(uuid.uuid4()), cid, "u1"
        msg.metadata.event_type = identity_ev.CompanyCreated.DESCRIPTOR.full_name
        assert wait_for(consumer.ready.is_set, 30)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send("crm.identity.company.v1", key=cid.encode(), value=msg.SerializeToString(),
                      headers=[("event_id", msg.metadata.event_id.encode()),
                               ("event_type", msg.metadata.event_type.encode())]).get(timeout=10)
        producer.close()
        assert wait_for(lambda: _company_funnels(server, cid) == 2, 30)
    finally:
        consumer.stop_event.set()
        thread.join(10)


def test_first_reads_racing_the_consumer_seed_once(server):
    """Requests and the CompanyCreated consumer may seed at the same moment: one wins, none fails."""
    cid = str(uuid.uuid4())
    md = _md(server, cid)
    consumer = IdempotentConsumer(server["db"], PROCESSED_EVENTS, "127.0.0.1:1", f"t-{uuid.uuid4().hex[:6]}",
                                  subscriptions(server["svc"]))
    msg = identity_ev.CompanyCreated(name="Co")
    msg.metadata.event_id, msg.metadata.company_id = str(uuid.uuid4()), cid
    sub = consumer.subs[identity_ev.CompanyCreated.DESCRIPTOR.full_name]
    errors: list = []
    barrier = threading.Barrier(5)

    def read():
        barrier.wait()
        try:
            assert len(server["funnels"].ListFunnels(pb.ListFunnelsRequest(), metadata=md).funnels) == 2
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def consume():
        barrier.wait()
        for _ in range(3):  # what IdempotentConsumer.handle does: retry on a lost race
            try:
                consumer.apply(sub, msg)
                return
            except Exception:  # noqa: BLE001
                continue
        errors.append("consumer failed three times")

    threads = [threading.Thread(target=read) for _ in range(4)] + [threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _company_funnels(server, cid) == 2


def test_rule_edits_racing_a_field_deletion_keep_no_rule_of_the_deleted_field(server):
    """Saving a stage's rules while the field they name is deleted (on PostgreSQL: transactions on separate
    connections): the two take the stage in turn. Either the rules were saved first and the deletion drops
    the field from them, or the deletion came first and the rules naming it are refused; the stage never
    names a deleted field, and saved rules are not overwritten by the deletion's older copy of them."""
    from crm_platform.context import Principal
    from crm_platform.errors import InvalidArgument

    svc, db = server["svc"], server["db"]
    cid = str(uuid.uuid4())
    p = Principal(company_id=cid, user_id=str(uuid.uuid4()), permissions=frozenset({"manage_funnels"}))
    funnel = [f for f, _ in svc.list_funnels(p, "deal")][0]
    stages = [st.id for st in svc.get_funnel(p, funnel.id)[1]][:4]
    svc.create_field(p, entity="deal", key="kept", name="Kept", field_type="text", options=[])
    for i in range(12):
        doomed = svc.create_field(p, entity="deal", key=f"doomed_{i}", name="Doomed", field_type="text", options=[])
        for stage_id in stages:
            svc.update_rules(p, stage_id, {"required": [doomed.key]})
        barrier = threading.Barrier(len(stages) + 1)
        outcome: dict = {}

        def save(stage_id, key=doomed.key):
            barrier.wait()
            try:
                svc.update_rules(p, stage_id, {"required": ["kept", key]})
                outcome[stage_id] = "saved"
            except InvalidArgument:
                outcome[stage_id] = "refused"

        def delete(field_id=doomed.id):
            barrier.wait()
            svc.delete_field(p, field_id)

        threads = [threading.Thread(target=save, args=(st,)) for st in stages] + [threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with db.session(company_id=cid) as s:
            rules = {st.id: st.rules["required"] for st in s.execute(select(Stage).where(Stage.id.in_(stages)))
                     .scalars()}
        assert outcome.keys() == set(stages)
        for stage_id in stages:
            assert rules[stage_id] == (["kept"] if outcome[stage_id] == "saved" else []), (i, outcome, rules)


def test_edits_of_one_field_at_once_announce_what_was_stored(server):
    """A rename and a change of choices of one field at the same moment (on PostgreSQL: transactions on
    separate connections) take the field in turn: the second starts from the first's result, so the last
    FieldUpdated event (and each answer) carries the field as stored, not the name or choices it replaced."""
    from crm.pipeline.events.v1 import pipeline_events_pb2 as pev
    from crm_platform.context import Principal
    from crm_pipeline.adapters.orm import FieldDefinition

    svc, db = server["svc"], server["db"]
    cid = str(uuid.uuid4())
    p = Principal(company_id=cid, user_id=str(uuid.uuid4()), permissions=frozenset({"manage_funnels"}))
    for i in range(12):
        f = svc.create_field(p, entity="deal", key=f"source_{i}", name="Source", field_type="select", options=["A"])
        barrier = threading.Barrier(2)

        def edit(kwargs, field_id=f.id):
            barrier.wait()
            svc.update_field(p, field_id, **kwargs)

        threads = [threading.Thread(target=edit, args=(kw,))
                   for kw in ({"name": f"Source {i}"}, {"options": ["A", "B"]})]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with db.session(company_id=cid) as s:
            stored = s.get(FieldDefinition, f.id)
            payloads = s.execute(select(OUTBOX.c.payload).where(
                OUTBOX.c.aggregate_id == f.id, OUTBOX.c.event_type == "crm.pipeline.events.v1.FieldUpdated")
                .order_by(OUTBOX.c.id)).scalars().all()
        assert (stored.name, stored.options) == (f"Source {i}", ["A", "B"])
        last = pev.FieldUpdated.FromString(payloads[-1]).field
        assert (len(payloads), last.name, list(last.options)) == (2, stored.name, stored.options), i
