"""Records end to end through the gateway: phones, amounts, stage rules on every write path, soft delete,
tenants, responsibility with cascade, lists, the board, the deal card, tasks, events."""

from __future__ import annotations

import base64
import concurrent.futures
import json

import pytest
import requests

from crm.records.events.v1 import records_events_pb2 as rev
from tests.support.events import collect
from tests.support.infra import wait_for
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e


# ---- helpers -------------------------------------------------------------------------------------
def _funnel(c, entity="deal") -> dict:
    resp = c.get(f"/api/v1/funnels?entity={entity}")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"][0]


def _stage(funnel, group: str, index: int = 0) -> str:
    return next(g for g in funnel["groups"] if g["key"] == group)["stages"][index]["id"]


def _field(c, entity, key, ftype, options=()):
    resp = c.post("/api/v1/fields", json={"entity": entity, "key": key, "name": key, "type": ftype,
                                          "options": list(options)})
    assert resp.status_code == 201, resp.text


def _rules(c, stage_id, **rules):
    resp = c.put(f"/api/v1/stages/{stage_id}/rules", json=rules)
    assert resp.status_code == 200, resp.text


def test_records_cached_users_follow_identity_renames_and_deactivations(api):
    """Records keeps users it has seen (60 s); identity's UserUpdated/UserDeactivated drop them at once."""
    a = sign_up(api)
    c = a["api"]
    user, _ = _user(api, a)
    deal = _deal(c, responsible_id=user)  # records now holds the user as active, named "Mo Ra"
    assert c.get(f"/api/v1/deals/{deal['id']}").json()["responsible"] == {"id": user, "name": "Mo Ra"}
    assert c.patch(f"/api/v1/users/{user}", json={"first_name": "Muhammad"}).status_code == 200
    wait_for(lambda: c.get(f"/api/v1/deals/{deal['id']}").json()["responsible"]["name"] == "Muhammad Ra",
             timeout=15, message="the card showing the new name (well before the cache's 60 s)")
    assert c.delete(f"/api/v1/users/{user}").status_code == 200

    def refused():
        resp = c.post("/api/v1/deals", json={"title": "after", "responsible_id": user})
        return resp.status_code == 422 and _fields(resp) == {"responsible_id": "user_inactive"}

    wait_for(refused, timeout=15, message="the deactivated user refused as responsible")


def _user(api, a, *, edit_phone=True, admin=False, restore=False):
    """A user of company `a` with a role of its own; returns (id, client)."""
    c = a["api"]
    role = c.post("/api/v1/roles", json={"name": f"R {unique_email()[:8]}", "permissions": {
        "admin": admin, "edit_phone": edit_phone, "restore_records": restore}})
    assert role.status_code == 201, role.text
    group = c.get("/api/v1/groups").json()["items"][0]
    email = unique_email("m")
    user = c.post("/api/v1/users", json={"first_name": "Mo", "last_name": "Ra", "email": email, "password": "pass-1234",
                                         "role_id": role.json()["id"], "group_id": group["id"]})
    assert user.status_code == 201, user.text
    tokens = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()
    return user.json()["id"], api.as_user(tokens["access_token"])


def _error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()["error"]
    assert body["code"] == code, body
    return body


def _fields(resp) -> dict[str, str]:
    return {f["field"]: f["code"] for f in resp.json()["error"]["details"].get("fields", [])}


def _deal(c, **body):
    resp = c.post("/api/v1/deals", json={"title": "Deal", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _client(c, **body):
    resp = c.post("/api/v1/clients", json={"name": "Client", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _count(c, path):
    return len(c.get(path + ("&" if "?" in path else "?") + "limit=200").json()["items"])


# ---- phones (F14, F15) -----------------------------------------------------------------------------
def test_countries_come_with_dialing_code_lengths_and_an_example(api):
    c = sign_up(api)["api"]
    resp = c.get("/api/v1/countries")
    assert resp.status_code == 200
    uz = next(x for x in resp.json()["items"] if x["code"] == "UZ")
    assert uz["dialing_code"] == "+998" and uz["lengths"] == [9] and len(uz["example"]) == 9
    assert {"RU", "KZ", "US", "GB", "TJ"} <= {x["code"] for x in resp.json()["items"]}


@pytest.mark.parametrize("country,number,e164", [("UZ", "901234567", "+998901234567"),
                                                 ("RU", "9123456789", "+79123456789"),
                                                 ("KZ", "7710009998", "+77710009998"),
                                                 ("US", "2015550123", "+12015550123"),
                                                 ("GB", "7400123456", "+447400123456")])
def test_client_phones_of_several_countries_are_stored_as_e164(api, country, number, e164):
    c = sign_up(api)["api"]
    client = _client(c, phone={"country": country, "number": number})
    assert client["phone"] == {"country": country, "number": number, "e164": e164}
    assert c.get(f"/api/v1/clients/{client['id']}").json()["phone"]["e164"] == e164


def test_wrong_phones_are_422_saying_what_the_country_expects_and_save_nothing(api):
    c = sign_up(api)["api"]
    cases = [("UZ", "90123456", "phone_length"), ("UZ", "9012345678", "phone_length"),
             ("UZ", "90 123 45 67", "phone_digits_only"), ("UZ", "+998901234567", "phone_digits_only"),
             ("RU", "912345678", "phone_length"), ("KZ", "77100O9998", "phone_digits_only"),
             ("US", "0015550123", "phone_invalid"), ("ZZ", "901234567", "phone_country_unknown")]
    for country, number, code in cases:
        resp = c.post("/api/v1/clients", json={"name": "X", "phone": {"country": country, "number": number}})
        assert resp.status_code == 422, (country, number, resp.text)
        field = "phone.country" if code == "phone_country_unknown" else "phone.number"
        assert _fields(resp) == {field: code}, (country, number)
    resp = c.post("/api/v1/clients", json={"name": "X", "phone": {"country": "UZ", "number": "9012"}},
                  headers={"Accept-Language": "ru"})
    message = resp.json()["error"]["details"]["fields"][0]["message"]
    assert "9" in message and "+998" in message
    en = c.post("/api/v1/clients", json={"name": "X", "phone": {"country": "UZ", "number": "9012"}})
    assert en.json()["error"]["details"]["fields"][0]["message"] == "A number in UZ has 9 digits after +998."
    assert _count(c, "/api/v1/clients") == 0


def test_changing_a_phone_needs_the_edit_phone_right_while_other_fields_still_save(api):
    a = sign_up(api)
    admin = a["api"]
    _, clerk = _user(api, a, edit_phone=False)
    client = _client(clerk, phone={"country": "UZ", "number": "901234567"})  # entering a first phone is allowed
    url = f"/api/v1/clients/{client['id']}"
    denied = clerk.patch(url, json={"name": "Renamed", "phone": {"country": "UZ", "number": "911234567"}})
    _error(denied, 403, "forbidden")
    assert clerk.get(url).json()["name"] == "Client"  # nothing of the refused request was saved
    _error(clerk.patch(url, json={"phone": None}), 403, "forbidden")
    same = clerk.patch(url, json={"name": "Renamed", "phone": {"country": "UZ", "number": "901234567"}})
    assert same.status_code == 200 and same.json()["name"] == "Renamed"
    ok = admin.patch(url, json={"phone": {"country": "UZ", "number": "911234567"}})
    assert ok.status_code == 200 and ok.json()["phone"]["e164"] == "+998911234567"


# ---- deals: amounts ------------------------------------------------------------------------------
def test_deal_amounts_are_decimal_uzs_kept_as_tiyin(api):
    c = sign_up(api)["api"]
    assert _deal(c, amount="1500.50")["amount_tiyin"] == 150050
    deal = _deal(c, amount=0.1)
    assert deal["amount"] == "0.10" and deal["amount_tiyin"] == 10
    assert _deal(c, amount=2500000)["amount"] == "2500000.00"
    for bad, code in (("1.001", "too_many_decimals"), ("-5", "too_small"), ("ten", "invalid_amount"),
                      (True, "invalid_type")):
        resp = c.post("/api/v1/deals", json={"title": "Bad", "amount": bad})
        assert resp.status_code == 422 and list(_fields(resp).values())[0] == code, resp.text
    patched = c.patch(f"/api/v1/deals/{deal['id']}", json={"amount": "99.99"}).json()
    assert patched["amount_tiyin"] == 9999


# ---- stage rules on every write path (F10-F12) ----------------------------------------------------
def test_required_fields_block_create_edit_move_and_bulk(api):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    first, second = _stage(funnel, "unprocessed"), _stage(funnel, "in_progress")
    _field(c, "deal", "budget", "text")
    _rules(c, second, required=["budget", "amount"])
    # create
    resp = c.post("/api/v1/deals", json={"title": "A", "stage_id": second})
    body = _error(resp, 422, "required_fields_missing")
    assert body["details"]["keys"] == ["amount", "budget"]
    assert _fields(resp) == {"amount": "required", "fields.budget": "required"}
    ok = _deal(c, stage_id=second, amount="10", fields={"budget": "big"})
    assert ok["stage_id"] == second and ok["funnel_id"] == funnel["id"]
    # move
    deal = _deal(c, stage_id=first)
    _error(c.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": second}), 422, "required_fields_missing")
    assert c.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == first
    moved = c.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": second, "amount": 5,
                                                          "fields": {"budget": "ok"}})
    assert moved.status_code == 200 and moved.json()["stage_id"] == second
    # edit: clearing a required value
    _error(c.patch(f"/api/v1/deals/{ok['id']}", json={"fields": {"budget": None}}), 422, "required_fields_missing")
    # bulk: a rule added later blocks the responsibility change of a deal that lacks the value
    _field(c, "deal", "inn", "text")
    _rules(c, second, required=["budget", "amount", "inn"])
    other_id, _ = _user(api, a)
    owners = [other_id, a["user"]["id"]]

    def refused():  # the rule reaches records through pipeline's FieldsChanged event
        before = c.get(f"/api/v1/deals/{ok['id']}").json()["responsible_id"]
        new = owners[0] if before != owners[0] else owners[1]
        r = c.post("/api/v1/deals/responsible", json={"ids": [ok["id"]], "responsible_id": new})
        return (r, before) if r.status_code == 422 else None

    resp, before = wait_for(refused, timeout=30, interval=0.5, message="the new rule")
    body = resp.json()["error"]
    assert body["code"] == "required_fields_missing" and body["details"]["keys"] == ["inn"]
    assert c.get(f"/api/v1/deals/{ok['id']}").json()["responsible_id"] == before


def test_client_rules_apply_on_create_edit_and_bulk(api):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c, "client")
    stage = _stage(funnel, "in_progress")
    _rules(c, stage, required=["phone", "email"])
    resp = c.post("/api/v1/clients", json={"name": "N", "stage_id": stage})
    assert _error(resp, 422, "required_fields_missing")["details"]["keys"] == ["email", "phone"]
    client = _client(c, stage_id=stage, email="x@y.uz", phone={"country": "UZ", "number": "901234567"})
    _error(c.patch(f"/api/v1/clients/{client['id']}", json={"email": ""}), 422, "required_fields_missing")


def test_one_time_fields_and_automatic_fields(api):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    won = _stage(funnel, "successful")
    for key, ftype in (("contract", "text"), ("signed_on", "autodate"), ("deal_no", "autonumber")):
        _field(c, "deal", key, ftype)
    _rules(c, won, one_time=["contract"], autodate=["signed_on"], autonumber=["deal_no"])
    deal = _deal(c)
    assert "deal_no" not in deal["fields"]
    moved = c.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": won, "fields": {"contract": "C-1"}}).json()
    assert moved["fields"]["deal_no"] == 1 and moved["fields"]["signed_on"].endswith("Z")
    url = f"/api/v1/deals/{deal['id']}"
    resp = c.patch(url, json={"fields": {"contract": "C-2"}})
    assert _error(resp, 422, "field_write_once")["details"]["keys"] == ["contract"]
    assert _fields(resp) == {"fields.contract": "write_once"}
    assert c.patch(url, json={"fields": {"contract": "C-1"}}).status_code == 200  # the same value again is fine
    for key in ("deal_no", "signed_on"):
        _error(c.patch(url, json={"fields": {key: 77}}), 422, "read_only_field")
        _error(c.post("/api/v1/deals", json={"title": "X", "fields": {key: 77}}), 422, "read_only_field")
    assert c.get(url).json()["fields"]["deal_no"] == 1
    # numbers are unique and increasing, also under concurrent saves
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: c.post("/api/v1/deals", json={
            "title": f"D{i}", "stage_id": won, "fields": {"contract": f"K{i}"}}), range(12)))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
    assert sorted(r.json()["fields"]["deal_no"] for r in results) == list(range(2, 14))


def test_custom_values_are_checked_against_their_type_and_options(api):
    c = sign_up(api)["api"]
    _field(c, "deal", "source", "select", ["Web", "Ads"])
    _field(c, "deal", "size", "number")
    resp = c.post("/api/v1/deals", json={"title": "X", "fields": {"source": "TV", "size": "big", "ghost": 1}})
    assert _fields(resp) == {"fields.source": "invalid_choice", "fields.size": "invalid_number",
                             "fields.ghost": "unknown_field"}
    deal = _deal(c, fields={"source": "Web", "size": "12"})
    assert deal["fields"] == {"source": "Web", "size": 12}


# ---- soft delete and restore (F13) ---------------------------------------------------------------
def test_deleted_deals_are_kept_hidden_read_only_and_restored_by_an_admin(api):
    a = sign_up(api)
    c = a["api"]
    _, clerk = _user(api, a)
    deal = _deal(c, title="Gone", amount="7")
    url = f"/api/v1/deals/{deal['id']}"
    deleted = clerk.delete(url)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert deleted.json()["deleted_at"]
    card = clerk.get(url)
    assert card.status_code == 200 and card.json()["deleted"] is True  # the link still opens for anyone
    assert deal["id"] not in [d["id"] for d in c.get("/api/v1/deals").json()["items"]]
    assert [d["id"] for d in c.get("/api/v1/deals?deleted=true").json()["items"]] == [deal["id"]]
    _error(c.patch(url, json={"title": "Back"}), 409, "record_deleted")
    _error(c.post("/api/v1/deals/responsible", json={"ids": [deal["id"]], "responsible_id": a["user"]["id"]}),
           409, "record_deleted")
    _error(c.post("/api/v1/tasks", json={"type": "call", "due_at": "2030-01-01T09:00:00Z", "deal_id": deal["id"]}),
           422, "validation_failed")
    _error(clerk.post(f"{url}/restore"), 403, "forbidden")
    assert c.get(url).json()["deleted"] is True
    restored = c.post(f"{url}/restore")
    assert restored.status_code == 200 and restored.json()["deleted"] is False
    assert restored.json()["title"] == "Gone" and restored.json()["amount"] == "7.00"
    assert deal["id"] in [d["id"] for d in c.get("/api/v1/deals").json()["items"]]
    actions = [h["action"] for h in c.get(f"{url}/history").json()["items"]]
    assert actions[:3] == ["restored", "deleted", "created"]


def test_deleted_clients_work_the_same_way(api):
    a = sign_up(api)
    c = a["api"]
    client = _client(c, name="Gone")
    url = f"/api/v1/clients/{client['id']}"
    assert c.delete(url).json()["deleted"] is True
    assert c.get("/api/v1/clients").json()["items"] == []
    assert [x["id"] for x in c.get("/api/v1/clients?deleted=true").json()["items"]] == [client["id"]]
    _error(c.patch(url, json={"name": "X"}), 409, "record_deleted")
    bad = c.post("/api/v1/deals", json={"title": "X", "client_id": client["id"]})
    assert _fields(bad) == {"client_id": "record_deleted"}
    _, clerk = _user(api, a, restore=False)
    _error(clerk.post(f"{url}/restore"), 403, "forbidden")
    assert c.post(f"{url}/restore").json()["deleted"] is False


# ---- tenants -------------------------------------------------------------------------------------
def test_another_companys_ids_are_404_everywhere(api):
    a, b = sign_up(api), sign_up(api)
    client = _client(a["api"])
    deal = _deal(a["api"], client_id=client["id"])
    task = a["api"].post("/api/v1/tasks", json={"type": "call", "due_at": "2030-01-01T09:00:00Z",
                                                "deal_id": deal["id"]}).json()
    other = b["api"]
    for method, path, body in (
            ("GET", f"/api/v1/deals/{deal['id']}", None), ("PATCH", f"/api/v1/deals/{deal['id']}", {"title": "x"}),
            ("DELETE", f"/api/v1/deals/{deal['id']}", None), ("POST", f"/api/v1/deals/{deal['id']}/restore", None),
            ("GET", f"/api/v1/deals/{deal['id']}/history", None),
            ("GET", f"/api/v1/clients/{client['id']}", None),
            ("PATCH", f"/api/v1/clients/{client['id']}", {"name": "x"}),
            ("DELETE", f"/api/v1/clients/{client['id']}", None),
            ("GET", f"/api/v1/clients/{client['id']}/history", None),
            ("PATCH", f"/api/v1/tasks/{task['id']}", {"done": True}),
            ("POST", "/api/v1/deals/responsible", {"ids": [deal["id"]], "responsible_id": b["user"]["id"]}),
            ("POST", "/api/v1/clients/responsible", {"ids": [client["id"]], "responsible_id": b["user"]["id"]})):
        resp = other.request(method, path, json=body)
        assert resp.status_code == 404, (method, path, resp.text)
    assert _fields(other.post("/api/v1/deals", json={"title": "x", "client_id": client["id"]})) == {
        "client_id": "unknown_reference"}
    assert _fields(other.post("/api/v1/deals", json={"title": "x", "stage_id": deal["stage_id"]})) == {
        "stage_id": "unknown_reference"}
    assert _fields(other.post("/api/v1/tasks", json={"type": "call", "due_at": "2030-01-01T09:00:00Z",
                                                     "deal_id": deal["id"]})) == {"deal_id": "unknown_reference"}
    assert _fields(a["api"].post("/api/v1/deals", json={"title": "x", "responsible_id": b["user"]["id"]})) == {
        "responsible_id": "unknown_reference"}
    assert other.get("/api/v1/deals").json()["items"] == []
    assert a["api"].get(f"/api/v1/deals/{deal['id']}").json()["title"] == "Deal"


# ---- responsibility (F16) ------------------------------------------------------------------------
def test_client_responsible_takes_its_deals_and_open_tasks_but_a_deal_change_stays_on_the_deal(api):
    a = sign_up(api)
    c = a["api"]
    u1, _ = _user(api, a)
    u2, _ = _user(api, a)
    client = _client(c)
    d1, d2 = _deal(c, client_id=client["id"]), _deal(c, client_id=client["id"])
    other_deal = _deal(c)
    open_task = c.post("/api/v1/tasks", json={"type": "call", "due_at": "2030-01-01T09:00:00Z",
                                              "deal_id": d1["id"]}).json()
    done_task = c.post("/api/v1/tasks", json={"type": "call", "due_at": "2030-01-01T09:00:00Z",
                                              "client_id": client["id"]}).json()
    assert c.patch(f"/api/v1/tasks/{done_task['id']}", json={"done": True}).json()["done"] is True
    assert c.patch(f"/api/v1/clients/{client['id']}", json={"responsible_id": u1}).status_code == 200
    for d in (d1, d2):
        assert c.get(f"/api/v1/deals/{d['id']}").json()["responsible_id"] == u1
    assert c.get(f"/api/v1/deals/{other_deal['id']}").json()["responsible_id"] == a["user"]["id"]
    tasks = {t["id"]: t for t in c.get(f"/api/v1/tasks?client_id={client['id']}").json()["items"]}
    assert tasks[open_task["id"]]["responsible_id"] == u1
    assert tasks[done_task["id"]]["responsible_id"] == a["user"]["id"]
    assert c.patch(f"/api/v1/deals/{d1['id']}", json={"responsible_id": u2}).json()["responsible_id"] == u2
    assert c.get(f"/api/v1/clients/{client['id']}").json()["responsible_id"] == u1
    assert c.get(f"/api/v1/deals/{d2['id']}").json()["responsible_id"] == u1


def test_bulk_responsibility_with_and_without_cascade(api):
    a = sign_up(api)
    c = a["api"]
    u1, _ = _user(api, a)
    u2, _ = _user(api, a)
    c1, c2 = _client(c), _client(c)
    d1, d2 = _deal(c, client_id=c1["id"]), _deal(c, client_id=c2["id"])
    resp = c.post("/api/v1/deals/responsible", json={"ids": [d1["id"]], "responsible_id": u1})
    assert resp.json() == {"deals": 1, "clients": 0, "tasks": 0}
    assert c.get(f"/api/v1/clients/{c1['id']}").json()["responsible_id"] == a["user"]["id"]
    resp = c.post("/api/v1/deals/responsible", json={"ids": [d1["id"], d2["id"]], "responsible_id": u2,
                                                     "cascade": True})
    assert resp.json() == {"deals": 2, "clients": 2, "tasks": 0}
    assert {c.get(f"/api/v1/clients/{x['id']}").json()["responsible_id"] for x in (c1, c2)} == {u2}
    resp = c.post("/api/v1/clients/responsible", json={"ids": [c1["id"]], "responsible_id": u1})
    assert resp.json() == {"clients": 1, "deals": 0, "tasks": 0}
    assert c.get(f"/api/v1/deals/{d1['id']}").json()["responsible_id"] == u2
    resp = c.post("/api/v1/clients/responsible", json={"ids": [c1["id"], c2["id"]], "responsible_id": u1,
                                                       "cascade": True})
    assert resp.json()["deals"] == 2
    assert {c.get(f"/api/v1/deals/{x['id']}").json()["responsible_id"] for x in (d1, d2)} == {u1}
    history = c.get(f"/api/v1/deals/{d1['id']}/history").json()["items"]
    assert history[0]["action"] == "responsible_changed"
    assert history[0]["changes"] == [{"field": "responsible_id", "old": u2, "new": u1}]


def test_responsible_must_be_an_active_user_of_the_company(api):
    a = sign_up(api)
    c = a["api"]
    gone, _ = _user(api, a)
    assert c.delete(f"/api/v1/users/{gone}").status_code == 200
    deal = _deal(c)
    for resp in (c.post("/api/v1/deals", json={"title": "x", "responsible_id": gone}),
                 c.patch(f"/api/v1/deals/{deal['id']}", json={"responsible_id": gone}),
                 c.post("/api/v1/deals/responsible", json={"ids": [deal["id"]], "responsible_id": gone})):
        assert _fields(resp) == {"responsible_id": "user_inactive"}, resp.text
    bad = c.post("/api/v1/deals/responsible", json={"ids": [], "responsible_id": a["user"]["id"]})
    assert bad.status_code == 422


# ---- lists, board, card ----------------------------------------------------------------------------
def test_lists_filter_search_sort_and_page_stably_while_records_are_added(api):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    second = _stage(funnel, "in_progress")
    buyer = _client(c, name="Шерзод Алиев", phone={"country": "UZ", "number": "935550011"})
    ids = [_deal(c, title=f"Deal {i}", amount=i * 10)["id"] for i in range(7)]
    special = _deal(c, title="Laptops", client_id=buyer["id"], stage_id=second, amount="1")
    seen, cursor = [], None
    while True:
        page = c.get("/api/v1/deals?limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [d["id"] for d in page["items"]]
        if len(seen) == 3:
            _deal(c, title="Newcomer")  # added while paging: must not shift the pages
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [special["id"], *reversed(ids)]
    assert [d["id"] for d in c.get("/api/v1/deals?q=laptop").json()["items"]] == [special["id"]]
    assert [d["id"] for d in c.get("/api/v1/deals?q=шерзод").json()["items"]] == [special["id"]]
    assert [d["id"] for d in c.get("/api/v1/deals?q=5550011").json()["items"]] == [special["id"]]
    assert [d["id"] for d in c.get(f"/api/v1/deals?stage_id={second}").json()["items"]] == [special["id"]]
    assert [d["id"] for d in c.get(f"/api/v1/deals?client_id={buyer['id']}").json()["items"]] == [special["id"]]
    by_amount = c.get("/api/v1/deals?sort=-amount&limit=2").json()
    assert [d["amount_tiyin"] for d in by_amount["items"]] == [6000, 5000]
    nxt = c.get(f"/api/v1/deals?sort=-amount&limit=2&cursor={by_amount['next_cursor']}").json()
    assert [d["amount_tiyin"] for d in nxt["items"]] == [4000, 3000]
    _error(c.get("/api/v1/deals?sort=colour"), 422, "validation_failed")
    _error(c.get("/api/v1/deals?cursor=garbage"), 422, "invalid_cursor")
    forged = base64.urlsafe_b64encode(json.dumps({"s": "-amount", "v": "abc", "i": 5}).encode()).decode()
    _error(c.get(f"/api/v1/deals?sort=-amount&cursor={forged}"), 422, "invalid_cursor")
    _error(c.get(f"/api/v1/deals?cursor={by_amount['next_cursor']}"), 422, "invalid_cursor")  # another sort
    assert [x["id"] for x in c.get("/api/v1/clients?q=%2B99893555").json()["items"]] == [buyer["id"]]


def test_board_gives_each_stage_its_count_sum_and_first_deals(api):
    c = sign_up(api)["api"]
    funnel = _funnel(c)
    first, second = _stage(funnel, "unprocessed"), _stage(funnel, "in_progress")
    _deal(c, amount="10.50")
    _deal(c, amount="4.50")
    _deal(c, amount="100", stage_id=second)
    gone = _deal(c, amount="1000")
    c.delete(f"/api/v1/deals/{gone['id']}")
    resp = c.get(f"/api/v1/board?funnel_id={funnel['id']}&per_stage=1")
    assert resp.status_code == 200, resp.text
    columns = {col["stage"]["id"]: col for col in resp.json()["columns"]}
    all_stages = [s["id"] for g in funnel["groups"] for s in g["stages"]]
    assert [col["stage"]["id"] for col in resp.json()["columns"]] == all_stages
    assert (columns[first]["count"], columns[first]["sum"], len(columns[first]["deals"])) == (2, "15.00", 1)
    assert (columns[second]["count"], columns[second]["sum_tiyin"]) == (1, 10000)
    assert columns[first]["stage"]["group_key"] == "unprocessed" and columns[first]["stage"]["name"]


def test_the_board_follows_stages_renamed_and_added_in_pipeline(api, system):
    """Records keeps a funnel's stages for the board (10 s); pipeline's FunnelChanged drops them at once.
    A funnel that is missing or another company's is 404 as before."""
    c = sign_up(api)["api"]
    funnel = c.get(f"/api/v1/funnels/{_funnel(c)['id']}").json()
    board = f"/api/v1/board?funnel_id={funnel['id']}"
    health = f"http://127.0.0.1:{system.env['RECORDS_HEALTH_PORT']}/readyz"
    wait_for(lambda: requests.get(health, timeout=2).json()["loops"]["caches"], timeout=60,
             message="records listening for changes (it caches nothing before)")
    assert c.get(board).status_code == 200  # records now holds the funnel's stages
    renamed = _stage(funnel, "in_progress")
    groups = [{"key": g["key"], "stages": [
        {"id": s["id"], "name": "Called back" if s["id"] == renamed else s["name"], "color": s["color"]}
        for s in g["stages"]]} for g in funnel["groups"]]
    next(g for g in groups if g["key"] == "in_progress")["stages"].append({"name": "Negotiation", "color": "#3F51B5"})
    saved = c.put(f"/api/v1/funnels/{funnel['id']}", json={"version": funnel["version"], "groups": groups})
    assert saved.status_code == 200, saved.text
    expected = [(s["id"], s["name"], g["key"]) for g in saved.json()["groups"] for s in g["stages"]]
    assert {"Called back", "Negotiation"} <= {name for _, name, _ in expected}

    def shown():
        columns = c.get(board).json()["columns"]
        return [(col["stage"]["id"], col["stage"].get("name"), col["stage"].get("group_key")) for col in columns]

    wait_for(lambda: shown() == expected, timeout=8,
             message="the board showing the renamed and the added stage (before the cache's 10 s)")
    other = sign_up(api)["api"]
    for funnel_id in (funnel["id"], "7d3c0f4e-0000-4000-8000-000000000000"):
        _error(other.get(f"/api/v1/board?funnel_id={funnel_id}"), 404, "funnel_not_found")


def test_deal_card_aggregates_client_stage_responsible_tasks_and_history(api):
    a = sign_up(api)
    c = a["api"]
    client = _client(c, name="Olim")
    deal = _deal(c, client_id=client["id"], amount="5")
    c.patch(f"/api/v1/deals/{deal['id']}", json={"title": "Renamed"})
    c.post("/api/v1/tasks", json={"type": "meeting", "comment": "Visit", "due_at": "2030-01-01T09:00:00+05:00",
                                  "deal_id": deal["id"]})
    card = c.get(f"/api/v1/deals/{deal['id']}").json()
    assert card["title"] == "Renamed" and card["client"]["name"] == "Olim"
    assert card["stage"]["id"] == deal["stage_id"] and card["stage"]["group_key"] == "unprocessed"
    assert card["responsible"] == {"id": a["user"]["id"], "name": "Aziz Karimov"}
    assert [t["comment"] for t in card["tasks"]] == ["Visit"]
    assert card["tasks"][0]["due_at"] == "2030-01-01T04:00:00Z" and card["tasks"][0]["client_id"] == client["id"]
    assert [h["action"] for h in card["history"]][:2] == ["task_created", "updated"]
    assert {"field": "title", "old": "Deal", "new": "Renamed"} in card["history"][1]["changes"]


# ---- tasks ---------------------------------------------------------------------------------------
def test_tasks_types_the_company_extends_and_done(api):
    a = sign_up(api)
    c = a["api"]
    _, clerk = _user(api, a)
    types = [t["key"] for t in c.get("/api/v1/task-types").json()["items"]]
    assert {"call", "meeting"} <= set(types)
    _error(clerk.post("/api/v1/task-types", json={"name": "Demo"}), 403, "forbidden")
    assert c.post("/api/v1/task-types", json={"name": "Demo day"}).json()["key"] == "demo_day"
    _error(c.post("/api/v1/task-types", json={"name": "Demo day"}), 409, "task_type_exists")
    bad = c.post("/api/v1/tasks", json={"type": "party", "due_at": "tomorrow"})
    assert _fields(bad) == {"type": "invalid_choice", "due_at": "invalid_datetime"}
    task = c.post("/api/v1/tasks", json={"type": "demo_day", "due_at": "2030-01-01T09:00:00Z"}).json()
    assert task["responsible_id"] == a["user"]["id"] and task["done"] is False
    done = c.patch(f"/api/v1/tasks/{task['id']}", json={"done": True}).json()
    assert done["done"] is True and done["done_at"]
    assert c.get("/api/v1/tasks?done=false").json()["items"] == []
    assert [t["id"] for t in c.get("/api/v1/tasks?done=true").json()["items"]] == [task["id"]]


def test_retried_creates_with_the_same_idempotency_key_make_one_record(api):
    c = sign_up(api)["api"]
    headers = {"Idempotency-Key": "deal-create-1"}
    first = c.post("/api/v1/deals", json={"title": "Once"}, headers=headers)
    again = c.post("/api/v1/deals", json={"title": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert _count(c, "/api/v1/deals") == 1


# ---- events --------------------------------------------------------------------------------------
def test_stage_changes_are_published_with_what_automation_needs(api, system):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    first, second = _stage(funnel, "unprocessed"), _stage(funnel, "in_progress")
    deal = _deal(c)
    c.patch(f"/api/v1/deals/{deal['id']}", json={"stage_id": second})
    found = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.records.deal.v1", rev.DealStageChanged,
                    lambda m: m.deal.id == deal["id"])
    msg = found[0][1]
    assert (msg.previous_stage_id, msg.deal.stage_id) == (first, second)
    assert (msg.previous_stage_group_key, msg.deal.stage_group_key) == ("unprocessed", "in_progress")
    assert msg.deal.funnel_id == funnel["id"] and msg.deal.responsible_id == a["user"]["id"]
    assert msg.source == rev.CHANGE_SOURCE_USER and msg.metadata.company_id == a["company"]["id"]
    assert found[0][0].key.decode() == deal["id"]
    created = collect(system.env["KAFKA_BOOTSTRAP_SERVERS"], "crm.records.deal.v1", rev.DealCreated,
                      lambda m: m.deal.id == deal["id"])
    assert created[0][1].deal.stage_group_key == "unprocessed"


def test_records_leave_a_removed_stage_for_its_target(api):
    a = sign_up(api)
    c = a["api"]
    funnel = _funnel(c)
    keep, drop = _stage(funnel, "in_progress", 0), _stage(funnel, "in_progress", 1)
    deal = _deal(c, stage_id=drop)
    body = {**funnel, "groups": [{**g, "stages": [s for s in g["stages"] if s["id"] != drop]}
                                 for g in funnel["groups"]],
            "removed": [{"stage_id": drop, "move_to_stage_id": keep}]}
    assert c.put(f"/api/v1/funnels/{funnel['id']}", json=body).status_code == 200
    moved = wait_for(lambda: c.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == keep, timeout=30,
                     interval=0.3, message="the deal to leave the removed stage")
    assert moved
    history = c.get(f"/api/v1/deals/{deal['id']}/history").json()["items"]
    assert history[0]["source"] == "system" and history[0]["changes"][0]["new"] == keep


def test_nul_characters_are_refused_not_a_server_error(api):
    c = sign_up(api)["api"]
    resp = c.post("/api/v1/deals", json={"title": "a\u0000b"})
    assert _error(resp, 422, "validation_failed") and _fields(resp) == {"title": "invalid_value"}
    assert c.get("/api/v1/deals/x%00y").status_code == 404  # a records id has a UUID's characters only
    assert c.get("/api/v1/deals?q=%00").status_code == 422
    assert c.get("/api/v1/deals").json()["items"] == []
