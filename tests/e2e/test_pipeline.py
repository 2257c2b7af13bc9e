"""Pipeline end to end through the gateway: default funnels, the funnel editor, stage rules, custom fields."""

from __future__ import annotations

import copy
import re

import pytest

from crm.pipeline.events.v1 import pipeline_events_pb2 as ev
from tests.support.events import collect
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e

GROUPS = ["unprocessed", "in_progress", "failed", "successful"]
COLOR = re.compile(r"^#[0-9A-F]{6}$")


def _funnel(a, entity="deal") -> dict:
    resp = a["api"].get(f"/api/v1/funnels?entity={entity}")
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert len(items) == 1
    return items[0]


def _manager(api, a) -> object:
    """A user of company `a` whose role has no admin rights."""
    admin = a["api"]
    role = next(r for r in admin.get("/api/v1/roles").json()["items"] if not r["permissions"]["admin"])
    group = admin.get("/api/v1/groups").json()["items"][0]
    email = unique_email("mgr")
    created = admin.post("/api/v1/users", json={"first_name": "Mo", "last_name": "Ra", "email": email,
                                                "password": "pass-1234", "role_id": role["id"], "group_id": group["id"]})
    assert created.status_code == 201, created.text
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    return api.as_user(tokens["access_token"])


def _stages(funnel) -> dict[str, dict]:
    return {s["id"]: s for g in funnel["groups"] for s in g["stages"]}


def _field_codes(resp) -> set[tuple[str, str]]:
    return {(f["field"], f["code"]) for f in resp.json()["error"]["details"]["fields"]}


def test_a_new_company_has_a_deal_and_a_client_funnel_with_the_four_fixed_groups(api):
    a = sign_up(api)
    resp = a["api"].get("/api/v1/funnels")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["next_cursor"] is None
    assert sorted(f["entity"] for f in body["items"]) == ["client", "deal"]
    for funnel in body["items"]:
        assert [g["key"] for g in funnel["groups"]] == GROUPS
        assert funnel["version"] == 1
        for group in funnel["groups"]:
            assert group["stages"], f"{group['key']} has no stage"
            assert [s["position"] for s in group["stages"]] == list(range(len(group["stages"])))
            for stage in group["stages"]:
                assert COLOR.match(stage["color"]) and stage["name"] and stage["id"]
        one = a["api"].get(f"/api/v1/funnels/{funnel['id']}")
        assert one.status_code == 200 and one.json() == funnel
    palette = a["api"].get("/api/v1/palette").json()["colors"]
    assert len(palette) >= 8 and all(COLOR.match(c) for c in palette)


def test_default_funnels_are_created_from_the_company_created_event(api, system):
    """No request touches pipeline here: the funnels come from the consumer of CompanyCreated."""
    a = sign_up(api)
    found = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.pipeline.funnel.v1", ev.FunnelCreated,
                    lambda m: m.metadata.company_id == a["company"]["id"], timeout=30)
    created = {m.funnel.id for _, m in found}
    record, msg = found[0]
    assert record.key.decode() == msg.funnel.id
    assert [g.key for g in msg.funnel.groups] == GROUPS
    assert {f["id"] for f in a["api"].get("/api/v1/funnels").json()["items"]} >= created


def _log_has(system, name: str, *needles: str) -> bool:
    path = system.log_dir / f"{name}.log"
    return any(all(n in line for n in needles) for line in path.read_text(errors="replace").splitlines())


def test_a_redelivered_company_created_event_seeds_only_once(api, system):
    import json
    import uuid

    from kafka import KafkaProducer

    from crm.identity.events.v1 import identity_events_pb2 as identity_ev
    from tests.support.infra import wait_for

    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    a = sign_up(api)
    cid = a["company"]["id"]
    record, created = collect(bootstrap, "crm.identity.company.v1", identity_ev.CompanyCreated,
                              lambda m: m.metadata.company_id == cid)[0]
    wait_for(lambda: _log_has(system, "pipeline", "event applied", created.metadata.event_id), 30,
             message="CompanyCreated applied")
    again = identity_ev.CompanyCreated()
    again.CopyFrom(created)
    again.metadata.event_id = str(uuid.uuid4())  # the same fact under another event id: the state guard holds
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for value, event_id in ((record.value, created.metadata.event_id), (again.SerializeToString(),
                                                                         again.metadata.event_id)):
        headers = [(k, event_id.encode() if k == "event_id" else v) for k, v in record.headers]
        producer.send(record.topic, key=record.key, value=value, headers=headers).get(timeout=10)
    producer.close()
    wait_for(lambda: _log_has(system, "pipeline", "event duplicate", created.metadata.event_id), 30,
             message="the redelivered event skipped")
    wait_for(lambda: _log_has(system, "pipeline", "event applied", again.metadata.event_id), 30,
             message="the re-published fact handled")
    funnels = a["api"].get("/api/v1/funnels").json()["items"]
    assert sorted(f["entity"] for f in funnels) == ["client", "deal"]
    lines = (system.log_dir / "pipeline.log").read_text().splitlines()
    seeded = [json.loads(x) for x in lines if "default funnels created" in x and cid in x]
    assert len(seeded) == 1


def test_admin_saves_the_edited_funnel_as_a_whole(api, system):
    a = sign_up(api)
    funnel = _funnel(a)
    edited = copy.deepcopy(funnel)
    groups = {g["key"]: g for g in edited["groups"]}
    in_progress = groups["in_progress"]["stages"]
    first, second = in_progress[0], in_progress[1]
    first["name"] = "Called back"                       # rename
    second["color"] = "#00ff00"                         # recolor (any custom color)
    in_progress.reverse()                               # reorder by drag and drop
    in_progress.append({"name": "Negotiation", "color": "#3F51B5"})  # add
    lost = groups["failed"]["stages"][0]
    groups["failed"]["stages"] = [{"name": "No budget", "color": "#F44336"}]  # replace a stage
    resp = a["api"].put(f"/api/v1/funnels/{funnel['id']}", json={
        **edited, "name": "  Sales  ", "removed": [{"stage_id": lost["id"], "move_to_stage_id": first["id"]}]})
    assert resp.status_code == 200, resp.text
    saved = resp.json()
    assert saved["version"] == 2 and saved["name"] == "Sales"
    got = {g["key"]: g["stages"] for g in saved["groups"]}
    assert [s["name"] for s in got["in_progress"]] == [second["name"], "Called back", "Negotiation"]
    assert [s["position"] for s in got["in_progress"]] == [0, 1, 2]
    assert got["in_progress"][0]["color"] == "#00FF00"
    assert got["in_progress"][0]["id"] == second["id"] and got["in_progress"][1]["id"] == first["id"]
    assert [s["name"] for s in got["failed"]] == ["No budget"]
    assert lost["id"] not in _stages(saved)
    assert a["api"].get(f"/api/v1/funnels/{funnel['id']}").json() == saved
    assert a["api"].get(f"/api/v1/stages/{lost['id']}/rules").status_code == 404
    changed = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.pipeline.funnel.v1", ev.FunnelChanged,
                      lambda m: m.funnel_id == funnel["id"])
    record, msg = changed[0]
    assert record.key.decode() == funnel["id"]
    assert (msg.funnel_id, msg.entity, msg.version, msg.funnel.version) == (funnel["id"], "deal", 2, 2)
    assert [(r.stage_id, r.target_stage_id) for r in msg.removed_stages] == [(lost["id"], first["id"])]
    assert msg.metadata.actor_id == a["user"]["id"]


def test_a_stage_can_move_to_another_group(api):
    a = sign_up(api)
    funnel = _funnel(a, "client")
    edited = copy.deepcopy(funnel)
    groups = {g["key"]: g for g in edited["groups"]}
    moving = groups["in_progress"]["stages"][0]
    groups["in_progress"]["stages"].insert(0, {"name": "Stays", "color": "#9E9E9E"})
    groups["in_progress"]["stages"].remove(moving)
    groups["successful"]["stages"].insert(0, moving)
    resp = a["api"].put(f"/api/v1/funnels/{funnel['id']}", json=edited)
    assert resp.status_code == 200, resp.text
    got = {g["key"]: g["stages"] for g in resp.json()["groups"]}
    assert got["successful"][0]["id"] == moving["id"] and got["successful"][0]["position"] == 0


def test_a_stale_version_is_409_and_changes_nothing(api):
    a = sign_up(api)
    funnel = _funnel(a)
    first = copy.deepcopy(funnel)
    first["groups"][0]["stages"][0]["name"] = "First editor"
    assert a["api"].put(f"/api/v1/funnels/{funnel['id']}", json=first).status_code == 200
    second = copy.deepcopy(funnel)
    second["groups"][0]["stages"][0]["name"] = "Second editor"
    resp = a["api"].put(f"/api/v1/funnels/{funnel['id']}", json=second)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "stale_version"
    assert resp.json()["error"]["details"]["current_version"] == 2
    now = a["api"].get(f"/api/v1/funnels/{funnel['id']}").json()
    assert now["groups"][0]["stages"][0]["name"] == "First editor" and now["version"] == 2


def test_bad_funnel_edits_are_422_with_every_field_and_change_nothing(api):
    a = sign_up(api)
    funnel = _funnel(a)
    url = f"/api/v1/funnels/{funnel['id']}"

    def attempt(mutate, removed=None, lang="en"):
        body = copy.deepcopy(funnel)
        mutate(body)
        if removed is not None:
            body["removed"] = removed
        resp = a["api"].put(url, json=body, headers={"Accept-Language": lang})
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "validation_failed"
        return resp

    def long_name_and_bad_color(b):
        b["groups"][1]["stages"][0]["name"] = "x" * 51
        b["groups"][1]["stages"][1]["color"] = "red"
    codes = _field_codes(attempt(long_name_and_bad_color))
    assert codes == {("groups.1.stages.0.name", "too_long"), ("groups.1.stages.1.color", "invalid_color")}
    assert ("groups", "invalid_groups") in _field_codes(attempt(lambda b: b["groups"].pop()))
    resp = attempt(lambda b: b["groups"].reverse())  # the groups cannot be reordered
    assert _field_codes(resp) == {("groups", "invalid_groups")}
    assert "unprocessed, in_progress, failed, successful" in resp.json()["error"]["details"]["fields"][0]["message"]
    assert _field_codes(attempt(lambda b: b["groups"][0]["stages"][0].update(name="   "))) == \
        {("groups.0.stages.0.name", "required")}
    assert _field_codes(attempt(lambda b: b["groups"][0]["stages"][0].update(name=""))) == \
        {("groups.0.stages.0.name", "required")}
    assert ("groups.3.key", "invalid_choice") in _field_codes(
        attempt(lambda b: b["groups"][3].update(key="archive")))
    assert ("groups.2.stages", "group_empty") in _field_codes(
        attempt(lambda b: b["groups"][2].update(stages=[]),
                removed=[{"stage_id": funnel["groups"][2]["stages"][0]["id"],
                          "move_to_stage_id": funnel["groups"][0]["stages"][0]["id"]}]))
    dropped = funnel["groups"][3]["stages"][0]
    resp = attempt(lambda b: b["groups"][3]["stages"].append({"name": "Paid", "color": "#4CAF50"}) or
                   b["groups"][3]["stages"].pop(0), lang="ru")
    fields = resp.json()["error"]["details"]["fields"]
    assert [(f["field"], f["code"]) for f in fields] == [("removed", "removal_target_missing")]
    assert fields[0]["params"]["stage_id"] == dropped["id"]
    assert dropped["name"] in fields[0]["message"] and "перенести" in fields[0]["message"]
    other = _funnel(a, "client")["groups"][0]["stages"][0]["id"]
    resp = attempt(lambda b: b["groups"][3]["stages"].pop(0) and b["groups"][3]["stages"].append(
        {"name": "Paid", "color": "#4CAF50"}), removed=[{"stage_id": dropped["id"], "move_to_stage_id": other}])
    assert ("removed.0.move_to_stage_id", "invalid_move_target") in _field_codes(resp)
    resp = attempt(lambda b: b["groups"][0]["stages"].append({"id": "nope", "name": "X", "color": "#000000"}))
    assert ("groups.0.stages.1.id", "unknown_reference") in _field_codes(resp)
    client_stage = _funnel(a, "client")["groups"][1]["stages"][0]  # a stage of the other funnel cannot move in
    resp = attempt(lambda b: b["groups"][1]["stages"].append({k: client_stage[k] for k in ("id", "name", "color")}))
    assert _field_codes(resp) == {("groups.1.stages.2.id", "unknown_reference")}
    twice = funnel["groups"][1]["stages"][0]
    resp = attempt(lambda b: b["groups"][2]["stages"].append({k: twice[k] for k in ("id", "name", "color")}))
    assert _field_codes(resp) == {("groups.2.stages.1.id", "duplicate")}
    assert a["api"].get(url).json() == funnel
    huge = a["api"].put(url, json={**funnel, "version": 2**70})
    assert huge.status_code == 422 and _field_codes(huge) == {("version", "too_large")}
    bad_json = a["api"].request("PUT", url, data="{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "invalid_json"


def test_only_admins_edit_while_every_user_reads(api):
    a = sign_up(api)
    manager = _manager(api, a)
    funnel = _funnel(a)
    assert manager.get("/api/v1/funnels").json()["items"]
    assert manager.get(f"/api/v1/funnels/{funnel['id']}").status_code == 200
    stage_id = funnel["groups"][0]["stages"][0]["id"]
    assert manager.get(f"/api/v1/stages/{stage_id}/rules").status_code == 200
    assert manager.get("/api/v1/fields").status_code == 200
    for resp in (manager.put(f"/api/v1/funnels/{funnel['id']}", json=funnel),
                 manager.put(f"/api/v1/stages/{stage_id}/rules", json={"required": ["amount"]}),
                 manager.post("/api/v1/fields", json={"entity": "deal", "key": "k", "name": "K", "type": "text"})):
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["code"] == "forbidden"
    assert a["api"].get(f"/api/v1/funnels/{funnel['id']}").json() == funnel
    assert a["api"].get("/api/v1/fields").json()["items"] == []


def test_another_companys_funnels_stages_and_fields_are_404(api):
    a, b = sign_up(api), sign_up(api)
    funnel = _funnel(a)
    stage_id = funnel["groups"][0]["stages"][0]["id"]
    field = a["api"].post("/api/v1/fields", json={"entity": "deal", "key": "source", "name": "Source",
                                                  "type": "text"}).json()
    other = b["api"]
    for resp in (other.get(f"/api/v1/funnels/{funnel['id']}"),
                 other.put(f"/api/v1/funnels/{funnel['id']}", json=funnel),
                 other.get(f"/api/v1/stages/{stage_id}/rules"),
                 other.put(f"/api/v1/stages/{stage_id}/rules", json={}),
                 other.patch(f"/api/v1/fields/{field['id']}", json={"name": "Mine"}),
                 other.delete(f"/api/v1/fields/{field['id']}")):
        assert resp.status_code == 404, resp.text
    assert funnel["id"] not in {f["id"] for f in other.get("/api/v1/funnels").json()["items"]}
    assert other.get("/api/v1/fields").json()["items"] == []
    assert a["api"].get("/api/v1/fields").json()["items"][0]["name"] == "Source"


def test_custom_fields_are_defined_per_entity(api, system):
    a = sign_up(api)
    admin = a["api"]
    created = admin.post("/api/v1/fields", json={"entity": "deal", "key": "source", "name": "Source",
                                                 "type": "select", "options": ["Web", "Call"]})
    assert created.status_code == 201, created.text
    field = created.json()
    assert field["key"] == "source" and field["options"] == ["Web", "Call"] and field["entity"] == "deal"
    assert admin.post("/api/v1/fields", json={"entity": "client", "key": "source", "name": "Source",
                                              "type": "text"}).status_code == 201  # same key, other entity
    dup = admin.post("/api/v1/fields", json={"entity": "deal", "key": "source", "name": "Again", "type": "text"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "field_key_taken"
    bad = admin.post("/api/v1/fields", json={"entity": "deal", "key": "Bad key", "name": "", "type": "text",
                                             "options": ["x"]})
    assert bad.status_code == 422
    assert _field_codes(bad) == {("name", "required")}  # the gateway answers first; the service checks the rest
    bad = admin.post("/api/v1/fields", json={"entity": "deal", "key": "Bad key", "name": "N", "type": "text",
                                             "options": ["x"]})
    assert _field_codes(bad) == {("key", "invalid_key"), ("options", "not_allowed")}
    bad = admin.post("/api/v1/fields", json={"entity": "lead", "key": "title", "name": "N", "type": "colour"})
    assert _field_codes(bad) == {("entity", "invalid_choice"), ("type", "invalid_choice")}
    bad = admin.post("/api/v1/fields", json={"entity": "deal", "key": "title", "name": "N", "type": "select"})
    assert _field_codes(bad) == {("key", "key_reserved"), ("options", "required")}
    deals = admin.get("/api/v1/fields?entity=deal").json()["items"]
    assert [f["key"] for f in deals] == ["source"]
    assert len(admin.get("/api/v1/fields").json()["items"]) == 2
    patched = admin.patch(f"/api/v1/fields/{field['id']}", json={"name": "Lead source", "options": ["Web", "Ads"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Lead source" and patched.json()["options"] == ["Web", "Ads"]
    assert patched.json()["type"] == "select" and patched.json()["key"] == "source"
    dup_opt = admin.patch(f"/api/v1/fields/{field['id']}", json={"options": ["Web", "web"]})
    assert _field_codes(dup_opt) == {("options.1", "duplicate")}
    updated = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.pipeline.field.v1", ev.FieldUpdated,
                      lambda m: m.field.id == field["id"])
    assert list(updated[0][1].field.options) == ["Web", "Ads"]
    assert admin.delete(f"/api/v1/fields/{field['id']}").status_code == 204
    assert admin.get("/api/v1/fields?entity=deal").json()["items"] == []
    assert admin.delete(f"/api/v1/fields/{field['id']}").status_code == 404


def test_stage_rules_name_required_one_time_and_automatic_fields(api, system):
    a = sign_up(api)
    admin = a["api"]
    for key, ftype in (("contract", "text"), ("signed_on", "autodate"), ("deal_no", "autonumber")):
        assert admin.post("/api/v1/fields", json={"entity": "deal", "key": key, "name": key,
                                                  "type": ftype}).status_code == 201
    admin.post("/api/v1/fields", json={"entity": "client", "key": "inn", "name": "INN", "type": "text"})
    funnel = _funnel(a)
    stage_id = funnel["groups"][3]["stages"][0]["id"]
    url = f"/api/v1/stages/{stage_id}/rules"
    assert admin.get(url).json() == {"stage_id": stage_id, "required": [], "one_time": [], "autodate": [],
                                     "autonumber": []}
    rules = {"required": ["amount", "contract", "amount"], "one_time": ["contract"], "autodate": ["signed_on"],
             "autonumber": ["deal_no"]}
    resp = admin.put(url, json=rules)
    assert resp.status_code == 200, resp.text
    expected = {"stage_id": stage_id, "required": ["amount", "contract"], "one_time": ["contract"],
                "autodate": ["signed_on"], "autonumber": ["deal_no"]}
    assert resp.json() == expected
    assert admin.get(url).json() == expected
    bad = admin.put(url, json={"required": ["inn", "signed_on"], "autodate": ["contract"], "autonumber": ["nope"]})
    assert bad.status_code == 422
    assert _field_codes(bad) == {("required.0", "unknown_field"), ("required.1", "auto_field"),
                                 ("autodate.0", "wrong_field_type"), ("autonumber.0", "unknown_field")}
    assert admin.get(url).json() == expected
    event = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.pipeline.funnel.v1", ev.FieldsChanged,
                    lambda m: m.metadata.company_id == a["company"]["id"] and m.entity == "deal")
    assert event[0][0].key.decode() == "deal"
    # deleting a field takes it out of every rule
    contract = next(f for f in admin.get("/api/v1/fields?entity=deal").json()["items"] if f["key"] == "contract")
    assert admin.delete(f"/api/v1/fields/{contract['id']}").status_code == 204
    assert admin.get(url).json() == {**expected, "required": ["amount"], "one_time": []}


def test_a_retried_field_creation_with_the_same_idempotency_key_creates_one_field(api):
    a = sign_up(api)
    body = {"entity": "client", "key": "inn", "name": "INN", "type": "text"}
    headers = {"Idempotency-Key": "create-inn-1"}
    first = a["api"].post("/api/v1/fields", json=body, headers=headers)
    again = a["api"].post("/api/v1/fields", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert [f["key"] for f in a["api"].get("/api/v1/fields").json()["items"]] == ["inn"]
    other_body = a["api"].post("/api/v1/fields", json={**body, "name": "Tax id"}, headers=headers)
    assert other_body.status_code == 422 and other_body.json()["error"]["code"] == "idempotency_key_reused"
