"""A company's default funnels are named in its language (SQLite and PostgreSQL): the language of identity's
CompanyCreated, on the real broker too, or of the access token (`lng`) of a first read that comes before
the event; an event or token from before languages seeds the English names those companies have."""

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
from crm_platform.messaging import IdempotentConsumer, wait_for
from crm_platform.rpc import GrpcServer
from crm_pipeline.__main__ import MIGRATIONS
from crm_pipeline.adapters.orm import PROCESSED_EVENTS, Funnel
from crm_pipeline.entrypoints.consumer import subscriptions
from crm_pipeline.entrypoints.grpc_server import PipelineService as PipelineServicer
from crm_pipeline.service_layer.services import PipelineService

# language -> entity -> (funnel name, stage names in board order)
NAMES = {
    "ru": {"deal": ("Сделки", ["Новая", "Первичный контакт", "Предложение сделано", "Проиграна", "Выиграна"]),
           "client": ("Клиенты", ["Новый", "В работе", "Отказался", "Покупатель"])},
    "uz": {"deal": ("Bitimlar", ["Yangi", "Bog‘lanildi", "Taklif berildi", "Muvaffaqiyatsiz", "Muvaffaqiyatli"]),
           "client": ("Mijozlar", ["Yangi", "Ishlanmoqda", "Rad etdi", "Xaridor"])},
    "en": {"deal": ("Deals", ["New", "Contacted", "Offer made", "Lost", "Won"]),
           "client": ("Clients", ["New", "In progress", "Refused", "Customer"])},
}
COLORS = {"deal": ["#9E9E9E", "#2196F3", "#FF9800", "#F44336", "#4CAF50"],
          "client": ["#9E9E9E", "#2196F3", "#F44336", "#4CAF50"]}


@pytest.fixture(scope="module")
def server(database_url, keys):
    db = Database(database_url)
    db.migrate(MIGRATIONS)
    svc = PipelineService(db)
    srv = GrpcServer("127.0.0.1:0", TokenVerifier(read_key(keys["access_public"])))
    srv.add(pb_grpc.add_PipelineServiceServicer_to_server, PipelineServicer(svc), "crm.pipeline.v1.PipelineService")
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield {"stub": pb_grpc.PipelineServiceStub(channel), "svc": svc, "db": db,
           "signer": TokenSigner(read_key(keys["access_private"]))}
    channel.close()
    srv.stop(1)
    db.dispose()


def _md(server, company_id: str, language: str | None = None):
    """An admin's access token as identity signs it: with the company's language in `lng` (None: a token
    from before languages, without it)."""
    token = server["signer"].sign(typ=ACCESS, company_id=company_id, user_id=str(uuid.uuid4()),
                                  ttl=_dt.timedelta(minutes=5), permissions=("admin",), session_id="s",
                                  extra=None if language is None else {"lng": language})
    return [("authorization", f"Bearer {token}")]


def _names(server, company_id: str, language: str | None = None) -> dict:
    funnels = server["stub"].ListFunnels(pb.ListFunnelsRequest(), metadata=_md(server, company_id, language)).funnels
    return {f.entity: (f.name, [s.name for g in f.groups for s in g.stages]) for f in funnels}


def _colors(server, company_id: str) -> dict:
    funnels = server["stub"].ListFunnels(pb.ListFunnelsRequest(), metadata=_md(server, company_id)).funnels
    return {f.entity: [s.color for g in f.groups for s in g.stages] for f in funnels}


def _company_created(company_id: str, language: str | None) -> identity_ev.CompanyCreated:
    msg = identity_ev.CompanyCreated(name="Co", crm_id="K7M2Q9XD", admin_user_id="u1")
    if language is not None:
        msg.language = language
    msg.metadata.event_id, msg.metadata.company_id, msg.metadata.actor_id = str(uuid.uuid4()), company_id, "u1"
    msg.metadata.event_type = identity_ev.CompanyCreated.DESCRIPTOR.full_name
    return msg


def _apply(server, msg) -> None:
    consumer = IdempotentConsumer(server["db"], PROCESSED_EVENTS, "127.0.0.1:1", f"t-{uuid.uuid4().hex[:6]}",
                                  subscriptions(server["svc"]))
    assert consumer.apply(consumer.subs[identity_ev.CompanyCreated.DESCRIPTOR.full_name], msg) is True


@pytest.mark.parametrize("language", ["ru", "uz", "en"])
def test_company_created_seeds_the_funnels_in_its_language(server, language):
    cid = str(uuid.uuid4())
    _apply(server, _company_created(cid, language))
    assert _names(server, cid) == NAMES[language]  # a later reader's token changes nothing
    assert _colors(server, cid) == COLORS


@pytest.mark.parametrize("language", ["ru", "uz", "en"])
def test_a_first_read_before_the_event_seeds_in_the_tokens_language(server, language):
    cid = str(uuid.uuid4())
    assert _names(server, cid, language) == NAMES[language]
    _apply(server, _company_created(cid, "en" if language != "en" else "ru"))  # the event comes late: no change
    assert _names(server, cid) == NAMES[language]


def test_an_event_or_token_from_before_languages_seeds_english(server):
    legacy_event, legacy_token = str(uuid.uuid4()), str(uuid.uuid4())
    _apply(server, _company_created(legacy_event, None))
    assert _names(server, legacy_event) == NAMES["en"]
    assert _names(server, legacy_token, None) == NAMES["en"]


def test_a_default_stage_read_first_seeds_in_the_tokens_language(server):
    cid = str(uuid.uuid4())
    stage = server["stub"].GetDefaultStage(pb.GetDefaultStageRequest(entity="client"),
                                           metadata=_md(server, cid, "uz")).stage
    assert stage.name == "Yangi" and stage.group_key == "unprocessed"
    assert _names(server, cid) == NAMES["uz"]


def test_the_consumer_seeds_an_uzbek_company_from_the_broker(server, broker):
    cid = str(uuid.uuid4())
    consumer = IdempotentConsumer(server["db"], PROCESSED_EVENTS, broker.bootstrap, f"t-{uuid.uuid4().hex[:6]}",
                                  subscriptions(server["svc"]))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        msg = _company_created(cid, "uz")
        assert wait_for(consumer.ready.is_set, 30)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send("crm.identity.company.v1", key=cid.encode(), value=msg.SerializeToString(),
                      headers=[("event_id", msg.metadata.event_id.encode()),
                               ("event_type", msg.metadata.event_type.encode())]).get(timeout=10)
        producer.close()
        def seeded():
            with server["db"].session(company_id=cid) as s:
                return s.execute(select(func.count()).select_from(Funnel)).scalar_one() == 2

        assert wait_for(seeded, 30)
        assert _names(server, cid) == NAMES["uz"]
    finally:
        consumer.stop_event.set()
        thread.join(10)
