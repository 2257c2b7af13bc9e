"""`GetBoard` over real gRPC with pipeline as a real process, on SQLite and PostgreSQL: records names the
columns from its cache of pipeline's funnel (dropped by `invalidate`, which pipeline's events trigger),
reads every stage's newest deals at once, and answers a funnel it cannot see as missing."""

from __future__ import annotations

import uuid

import grpc
import pytest

from crm.pipeline.v1 import pipeline_service_pb2 as ppb
from crm.pipeline.v1 import pipeline_service_pb2_grpc as pgrpc
from crm.records.v1 import records_service_pb2 as pb
from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import decode_error
from crm_records.adapters.directory import StageDirectory
from crm_records.adapters.orm import Deal
from crm_records.adapters.totals import StageTotals, counted
from crm_records.domain.model import BoardStage


def _pipeline(records, method: str):
    return getattr(pgrpc.PipelineServiceStub(grpc.insecure_channel(records["neighbours"]["pipeline"])), method)


def _deal_funnel(records, company):
    return _pipeline(records, "ListFunnels")(ppb.ListFunnelsRequest(entity="deal"), metadata=company.md()).funnels[0]


def _board(records, company, funnel_id: str, per_stage: int = 20) -> pb.GetBoardResponse:
    return records["stub"].GetBoard(pb.GetBoardRequest(funnel_id=funnel_id, per_stage=per_stage),
                                    metadata=company.md())


def _edit_funnel(records, company, funnel, rename: dict[str, str], add: str) -> None:
    """Save the funnel with stages renamed (id -> name) and a new stage at the end of `in_progress`."""
    req = ppb.UpdateFunnelRequest(id=funnel.id, version=funnel.version)
    for g in funnel.groups:
        stages = [ppb.StageInput(id=s.id, name=rename.get(s.id, s.name), color=s.color) for s in g.stages]
        if g.key == "in_progress":
            stages.append(ppb.StageInput(name=add, color="#3366FF"))
        req.groups.append(ppb.StageGroupInput(key=g.key, stages=stages))
    _pipeline(records, "UpdateFunnel")(req, metadata=company.md())


def test_the_board_names_every_stage_of_the_funnel_in_its_order_with_its_newest_deals(records, company):
    stub = records["stub"]
    funnel = _deal_funnel(records, company)
    first, second = funnel.groups[0].stages[0], funnel.groups[1].stages[0]
    made = [stub.CreateDeal(pb.CreateDealRequest(title=f"D{i}", amount=str(i + 1), stage_id=first.id),
                            metadata=company.md()).deal for i in range(3)]
    moved = stub.CreateDeal(pb.CreateDealRequest(title="Moved", amount="7", stage_id=second.id),
                            metadata=company.md()).deal
    stub.DeleteDeal(pb.DeleteDealRequest(id=made[2].id), metadata=company.md())
    # a stage that left the funnel with a deal still in it (its move comes later, from pipeline's event)
    with records["svc"].units.write(company.id) as uow:  # counted as the write path counts its deals
        now = utcnow()
        left = Deal(id=str(uuid.uuid4()), company_id=company.id, title="Left", title_lc="left", amount=500,
                    funnel_id=funnel.id, stage_id="removed-stage", responsible_id=company.admin_id, fields={},
                    created_at=now, updated_at=now, created_by=company.admin_id, deleted=False)
        uow.session.add(left)
        StageTotals.of(uow).move(None, counted(left))

    board = _board(records, company, funnel.id, per_stage=1)
    expected = [(s.id, s.name, s.color, g.key) for g in funnel.groups for s in g.stages]
    columns = [(c.stage_id, c.stage.name, c.stage.color, c.stage.group_key) for c in board.columns[:-1]]
    assert columns == expected and all(c.stage.id == c.stage_id for c in board.columns[:-1])
    by_id = {c.stage_id: c for c in board.columns}
    assert (by_id[first.id].count, by_id[first.id].amount_tiyin) == (2, 300)
    assert [d.id for d in by_id[first.id].deals] == [made[1].id]  # the newest live one, per_stage=1
    assert [d.id for d in by_id[second.id].deals] == [moved.id]
    left = board.columns[-1]
    assert (left.stage_id, left.HasField("stage"), left.count, len(left.deals)) == ("removed-stage", False, 1, 1)
    assert [d.id for d in _board(records, company, funnel.id).columns[0].deals] == [made[1].id, made[0].id]


def test_a_funnel_missing_or_of_another_company_is_not_found(records, company):
    other_funnel = _deal_funnel(records, company)
    stranger = type(company)(records["neighbours"], records["keys"])
    for funnel_id in (other_funnel.id, str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(grpc.RpcError) as info:
            _board(records, stranger, funnel_id)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert decode_error(info.value.trailing_metadata())["code"] == "funnel_not_found"


def test_the_funnels_stages_are_cached_until_invalidated(records, company):
    funnel = _deal_funnel(records, company)
    first = funnel.groups[1].stages[0]
    before = [c.stage.name for c in _board(records, company, funnel.id).columns]
    _edit_funnel(records, company, funnel, {first.id: "Called back"}, add="Negotiation")
    # the fixture's directory trusts its cache (no listener): the old stages until pipeline's event drops them
    assert [c.stage.name for c in _board(records, company, funnel.id).columns] == before
    records["svc"].stages.invalidate(company.id)
    in_progress = [c.stage.name for c in _board(records, company, funnel.id).columns
                   if c.stage.group_key == "in_progress"]
    assert in_progress == ["Called back", *[s.name for s in funnel.groups[1].stages[1:]], "Negotiation"]


def test_a_fetch_that_raced_an_invalidation_is_not_kept():
    """Pipeline answered with the stages as they were before a change whose event arrived meanwhile."""
    directory = StageDirectory("127.0.0.1:1", ttl=60)
    me = Principal(company_id="c1", user_id="u1")
    calls = []

    def fetch(principal, funnel_id):
        calls.append(funnel_id)
        if len(calls) == 1:
            directory.invalidate("c1")  # the FunnelChanged event lands while the answer is on its way
        return (BoardStage("s1", f"Name {len(calls)}", "#000000", "unprocessed"),)

    directory._fetch_funnel_stages = fetch
    assert directory.funnel_stages(me, "f1")[0].name == "Name 1"
    assert directory.funnel_stages(me, "f1")[0].name == "Name 2"  # not kept: asked again
    assert directory.funnel_stages(me, "f1")[0].name == "Name 2" and len(calls) == 2  # kept now
    directory.trusted = lambda: False  # the listener lost its partitions: nothing is kept
    directory.invalidate("c1")
    directory.funnel_stages(me, "f1")
    directory.funnel_stages(me, "f1")
    assert len(calls) == 4
