"""Domain helpers for end-to-end tests: funnels, users, deals, processes, tasks through the gateway."""

from __future__ import annotations

import uuid

from tests.support.infra import wait_for
from tests.support.system import unique_email


def funnel(admin, entity: str) -> dict:
    """The company's first funnel of `entity`, with its stages by group (seeded after sign-up)."""
    def find():
        items = admin.get("/api/v1/funnels").json().get("items", [])
        return next((f for f in items if f["entity"] == entity), None)
    f = wait_for(find, timeout=30, message=f"the seeded {entity} funnel")
    return admin.get(f"/api/v1/funnels/{f['id']}").json()


def stages(f: dict) -> list[dict]:
    return [s for g in f["groups"] for s in g["stages"]]


def stage_named(f: dict, name: str) -> dict:
    return next(s for s in stages(f) if s["name"] == name)


def add_stages(admin, f: dict, group: str, names: list[str]) -> dict:
    """Add stages to a group of a funnel (admin), return the saved funnel."""
    doc = {"version": f["version"], "groups": [
        {"key": g["key"], "stages": [{"id": s["id"], "name": s["name"], "color": s["color"]} for s in g["stages"]]
         + ([{"name": n, "color": "#3366FF"} for n in names] if g["key"] == group else [])}
        for g in f["groups"]]}
    resp = admin.put(f"/api/v1/funnels/{f['id']}", json=doc)
    assert resp.status_code == 200, resp.text
    return admin.get(f"/api/v1/funnels/{f['id']}").json()


def new_manager(api, admin) -> tuple[str, object]:
    """Create a user with the non-admin role; return its id and an API client logged in as it."""
    roles = admin.get("/api/v1/roles").json()["items"]
    group = admin.get("/api/v1/groups").json()["items"][0]["id"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    email = unique_email("m")
    uid = admin.post("/api/v1/users", json={"first_name": "Mona", "last_name": "Ger", "email": email,
                                            "password": "pass-1234", "role_id": role, "group_id": group}).json()["id"]
    token = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"}).json()["access_token"]
    return uid, api.as_user(token)


def create_process(admin, **overrides) -> dict:
    body = {"type": "task", "trigger": {"event": "deal.stage_changed"}, "due": "next_day",
            "assignee": "responsible", "task_type": "call", "comment": "Call the client", "enabled": True}
    body.update(overrides)
    resp = admin.post("/api/v1/processes", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def tasks(admin, **filters) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    resp = admin.get(f"/api/v1/tasks?limit=200&{query}")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def new_deal(admin, **fields) -> dict:
    resp = admin.post("/api/v1/deals", json={"title": f"Deal {uuid.uuid4().hex[:6]}", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def count_tasks(admin, deal_ids: set[str]) -> dict[str, int]:
    """How many tasks each of `deal_ids` has (walks every page of the task list)."""
    counts: dict[str, int] = {}
    cursor = ""
    while True:
        page = admin.get(f"/api/v1/tasks?limit=200&cursor={cursor}").json()
        for t in page["items"]:
            if t["deal_id"] in deal_ids:
                counts[t["deal_id"]] = counts.get(t["deal_id"], 0) + 1
        cursor = page.get("next_cursor")
        if not cursor:
            return counts
