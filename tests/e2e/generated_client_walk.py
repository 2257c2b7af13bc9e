"""A salesperson's first steps through the client openapi-python-client generated from the served
document: sign up, add a stage to the deal funnel, create a deal in it, open its card, find it in the
list. Run by tests/e2e/test_generated_client.py on .tools/openapi's Python with the generated package on
sys.path; prints one JSON line of what it saw. Any answer other than the documented success raises."""

from __future__ import annotations

import json
import sys
import uuid

from crm_api_client import AuthenticatedClient, Client
from crm_api_client.api.identity import identity_signup
from crm_api_client.api.pipeline import pipeline_list_funnels, pipeline_update_funnel
from crm_api_client.api.records import records_create_deal, records_get_deal, records_list_deals
from crm_api_client.models import (DealCard, DealIn, DealList, DealOut, FunnelList, FunnelOut, FunnelPut,
                                   PipelineListFunnelsEntityType0, SignUpIn, SignUpOut, StageGroupIn,
                                   StageGroupInKey, StageIn)


def parsed(response, cls):
    if not isinstance(response.parsed, cls):
        raise SystemExit(f"{cls.__name__} expected, got {response.status_code}: {response.content[:500]!r}")
    return response.parsed


def main(base: str) -> None:
    email = f"gen{uuid.uuid4().hex[:10]}@t.uz"
    signup = parsed(identity_signup.sync_detailed(client=Client(base_url=base), body=SignUpIn(
        company_name="Generated Co", first_name="Aziz", last_name="Karimov", email=email,
        password="pass-1234")), SignUpOut)
    api = AuthenticatedClient(base_url=base, token=signup.tokens.access_token)

    funnels = parsed(pipeline_list_funnels.sync_detailed(client=api, entity=PipelineListFunnelsEntityType0.DEAL),
                     FunnelList)
    funnel = funnels.items[0]
    groups = []
    for group in funnel.groups:
        stages = [StageIn(id=s.id, name=s.name, color=s.color) for s in group.stages]
        if group.key.value == "in_progress":
            stages.append(StageIn(name="Negotiation", color="#4CAF50"))
        groups.append(StageGroupIn(key=StageGroupInKey(group.key.value), stages=stages))
    saved = parsed(pipeline_update_funnel.sync_detailed(funnel.id, client=api, body=FunnelPut(
        version=funnel.version, groups=groups)), FunnelOut)
    stage = next(s for g in saved.groups for s in g.stages if s.name == "Negotiation")

    deal = parsed(records_create_deal.sync_detailed(client=api, body=DealIn(
        title="10 laptops", amount="15000000.50", stage_id=stage.id)), DealOut)
    card = parsed(records_get_deal.sync_detailed(deal.id, client=api), DealCard)
    listed = parsed(records_list_deals.sync_detailed(client=api, funnel_id=saved.id, stage_id=stage.id), DealList)
    print(json.dumps({"funnel_version": [funnel.version, saved.version], "stage": stage.name,
                      "deal": deal.id, "amount": deal.amount, "card_stage": card.stage.name,
                      "card_responsible": card.responsible.id if card.responsible else None,
                      "admin": signup.user.id, "listed": [d.id for d in listed.items]}))


if __name__ == "__main__":
    main(sys.argv[1])
