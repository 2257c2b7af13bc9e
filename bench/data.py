"""Bench data: companies, users and funnels through the API; deals and clients bulk-loaded with COPY.

The big company's 1,000,000 deals do not go through `POST /deals`: at the ~100 creates/s this
2-core machine sustains, that alone would take hours. They are written straight into the records
database with PostgreSQL `COPY`, in exactly the columns records' migration creates (the schema is
the one the records service made at start-up), with stages, responsibles and clients as the API
would have left them. Events are not produced for them (nobody needs them for the figures).
The clients have Uzbek first and last names and distinct mobile numbers (`people`), as the client
picker's search by name or phone digits meets them.
"""

from __future__ import annotations

import datetime as _dt
import io
import random
import time
import uuid

import requests

from crm_records.adapters import totals
from crm_records.service_layer.kinds import name_lc

DEAL_COLUMNS = ("id", "title", "title_lc", "amount", "client_id", "funnel_id", "stage_id", "responsible_id",
                "fields", "created_at", "updated_at", "created_by", "deleted", "deleted_at", "deleted_by",
                "company_id")
CLIENT_COLUMNS = ("id", "name", "name_lc", "phone", "phone_country", "email", "funnel_id", "stage_id",
                  "responsible_id", "fields", "created_at", "updated_at", "created_by", "deleted", "deleted_at",
                  "deleted_by", "company_id")
WORK_STAGES = ["Qualified", "Offer sent", "Negotiation", "Contract"]
TRIGGER_STAGE = "Bench trigger"
# Clients' names as a company in Uzbekistan has them (the client picker's prefix search needs real ones).
FIRST_NAMES = {
    "m": ("Aziz", "Olim", "Jasur", "Sardor", "Bekzod", "Rustam", "Shoxrux", "Dilshod", "Javlon", "Otabek", "Ulug'bek",
          "Farrux", "Sherzod", "Akmal", "Bobur", "Sanjar", "Jamshid", "Anvar", "Timur", "Nodir", "Eldor", "Islom",
          "Abdulla", "Behruz", "Doniyor", "Kamol", "Zafar", "Aleksandr", "Dmitriy", "Sergey", "Andrey", "Rashid"),
    "f": ("Dilnoza", "Malika", "Nigora", "Gulnora", "Zarina", "Shahlo", "Madina", "Feruza", "Kamola", "Sevara",
          "Nodira", "Laylo", "Mohira", "Durdona", "Aziza", "Munisa", "Yulduz", "Irina", "Olga", "Natalya", "Elena"),
}
LAST_NAMES = ("Karimov", "Tursunov", "Rahimov", "Yusupov", "Aliyev", "Nazarov", "Ismoilov", "Abdullayev", "Ergashev",
              "Xolmatov", "Mirzayev", "Qodirov", "Saidov", "Usmonov", "Sobirov", "Toshmatov", "Rasulov", "Hasanov",
              "Umarov", "Jo'rayev", "Norboyev", "Salimov", "Fayzullayev", "Azimov", "Sultonov", "Ivanov", "Petrov",
              "Kim", "Pak", "Tsoy")
# Uzbek mobile operators' codes: a client's phone is +998, one of these, seven digits (E.164, as records keeps it).
UZ_MOBILE_CODES = ("90", "91", "93", "94", "95", "97", "98", "99", "33", "88", "77", "50")


class Http:
    """A tiny gateway client with a bearer token."""

    def __init__(self, base: str, token: str = ""):
        self.base, self.token = base, token
        self.s = requests.Session()

    def call(self, method: str, path: str, json=None, ok=(200, 201, 204)) -> dict:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for attempt in range(30):
            r = self.s.request(method, self.base + path, json=json, headers=h, timeout=60)
            if r.status_code in (503, 429) and attempt < 29:
                time.sleep(1)
                continue
            if r.status_code not in ok:
                raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
            return r.json() if r.content else {}
        raise RuntimeError("unreachable")

    def as_user(self, token: str) -> "Http":
        return Http(self.base, token)


def signup(http: Http, name: str) -> dict:
    email = f"bench{uuid.uuid4().hex[:10]}@b.uz"
    out = http.call("POST", "/api/v1/signup", {"company_name": name, "first_name": "Bench", "last_name": "Admin",
                                                "email": email, "password": "bench-pass-1"})
    return {"company_id": out["company"]["id"], "admin_id": out["user"]["id"], "email": email,
            "password": "bench-pass-1", "token": out["tokens"]["access_token"]}


def login(http: Http, email: str, password: str) -> str:
    return http.call("POST", "/api/v1/auth/login", {"email": email, "password": password})["access_token"]


def seeded_funnel(api: Http, entity: str) -> dict:
    for _ in range(300):
        items = api.call("GET", "/api/v1/funnels").get("items", [])
        f = next((f for f in items if f["entity"] == entity), None)
        if f:
            return api.call("GET", f"/api/v1/funnels/{f['id']}")
        time.sleep(0.1)
    raise RuntimeError(f"no seeded {entity} funnel")


def stages_of(f: dict) -> list[dict]:
    return [dict(s, group_key=g["key"]) for g in f["groups"] for s in g["stages"]]


def setup_company(http: Http, name: str, users: int, extra_stages: bool) -> dict:
    """Sign a company up, add users and (for the big one) work stages and a business process."""
    co = signup(http, name)
    api = http.as_user(co["token"])
    deal_f = seeded_funnel(api, "deal")
    client_f = seeded_funnel(api, "client")
    if extra_stages:
        doc = {"version": deal_f["version"], "groups": [
            {"key": g["key"], "stages": [{"id": s["id"], "name": s["name"], "color": s["color"]} for s in g["stages"]]
             + ([{"name": n, "color": "#3366FF"} for n in WORK_STAGES + [TRIGGER_STAGE]]
                if g["key"] == "in_progress" else [])}
            for g in deal_f["groups"]]}
        api.call("PUT", f"/api/v1/funnels/{deal_f['id']}", doc)
        deal_f = api.call("GET", f"/api/v1/funnels/{deal_f['id']}")
    roles = api.call("GET", "/api/v1/roles")["items"]
    role = next(r["id"] for r in roles if not r["permissions"]["admin"])
    group = api.call("GET", "/api/v1/groups")["items"][0]["id"]
    user_ids = [co["admin_id"]]
    for i in range(users):
        u = api.call("POST", "/api/v1/users", {"first_name": f"Manager{i}", "last_name": "Bench",
                                               "email": f"m{i}{uuid.uuid4().hex[:8]}@b.uz", "password": "pw-12345",
                                               "role_id": role, "group_id": group})
        user_ids.append(u["id"])
    st = stages_of(deal_f)
    co.update(deal_funnel=deal_f["id"], client_funnel=client_f["id"], user_ids=user_ids,
              deal_stages={s["name"]: s["id"] for s in st}, stage_groups={s["id"]: s["group_key"] for s in st},
              first_deal_stage=st[0]["id"], client_stage=stages_of(client_f)[0]["id"])
    return co


def people(n: int, seed: int = 25) -> list[tuple[str, str]]:
    """`n` clients' (name, E.164 phone): first and last name (a woman's surname in -a), distinct Uzbek mobile
    numbers. A random generator of its own, so the deals' ids and sample stay what they were."""
    rnd = random.Random(seed)
    out, phones = [], set()
    while len(out) < n:
        phone = f"+998{rnd.choice(UZ_MOBILE_CODES)}{rnd.randrange(10**7):07d}"
        if phone in phones:
            continue
        phones.add(phone)
        sex = rnd.choice("mf")
        last = rnd.choice(LAST_NAMES)
        if sex == "f" and last.endswith(("ov", "ev", "yev")):
            last += "a"
        out.append((f"{rnd.choice(FIRST_NAMES[sex])} {last}", phone))
    return out


def _ts(t: _dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def load_pg(dsn: str, co: dict, deals: int, clients: int, log) -> dict:
    """COPY `clients` clients and `deals` deals of the company into records' database (PostgreSQL)."""
    import psycopg

    rnd = random.Random(42)
    base = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=deals + clients + 3600)
    users = co["user_ids"]
    deal_stages = [co["first_deal_stage"]] + [co["deal_stages"][n] for n in WORK_STAGES]
    client_ids = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(clients)]
    sample: list[str] = []
    keep = min(1.0, 3000 / max(1, deals))
    started = time.monotonic()
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            buf = io.StringIO()
            for i, (cid, (name, phone)) in enumerate(zip(client_ids, people(clients))):
                t = _ts(base + _dt.timedelta(seconds=i))
                buf.write(f"{cid}\t{name}\t{name_lc(name, None)}\t{phone}\tUZ\t\\N\t{co['client_funnel']}\t"
                          f"{co['client_stage']}\t{users[i % len(users)]}\t{{}}\t{t}\t{t}\t{co['admin_id']}\tf\t"
                          f"\\N\t\\N\t{co['company_id']}\n")
            with cur.copy(f"COPY clients ({', '.join(CLIENT_COLUMNS)}) FROM STDIN") as cp:
                cp.write(buf.getvalue())
            log(f"  {clients} clients copied in {time.monotonic() - started:.1f} s")
            chunk = 100_000
            for start in range(0, deals, chunk):
                buf = io.StringIO()
                for i in range(start, min(deals, start + chunk)):
                    did = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                    if rnd.random() < keep and len(sample) < 5000:
                        sample.append(did)
                    t = _ts(base + _dt.timedelta(seconds=clients + i))
                    buf.write(f"{did}\tDeal {i}\tdeal {i}\t{rnd.randrange(1, 10**9)}\t{client_ids[i % clients]}\t"
                              f"{co['deal_funnel']}\t{deal_stages[i % len(deal_stages)]}\t{users[i % len(users)]}\t"
                              f"{{}}\t{t}\t{t}\t{co['admin_id']}\tf\t\\N\t\\N\t{co['company_id']}\n")
                with cur.copy(f"COPY deals ({', '.join(DEAL_COLUMNS)}) FROM STDIN") as cp:
                    cp.write(buf.getvalue())
                log(f"  {min(deals, start + chunk)} deals copied ({time.monotonic() - started:.0f} s)")
            for statement in totals.REBUILD:  # the board's per-stage counters (COPY bypassed the service)
                cur.execute(statement)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE deals")
        conn.execute("VACUUM ANALYZE clients")
    return {"sample_deal_ids": sample, "load_seconds": time.monotonic() - started}


def load_sqlite(path: str, co: dict, deals: int, clients: int, log) -> dict:
    """The same rows into records' SQLite file (no COPY there: executemany in one transaction)."""
    import sqlite3

    rnd = random.Random(42)
    base = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=deals + clients + 3600)
    users = co["user_ids"]
    deal_stages = [co["first_deal_stage"]] + [co["deal_stages"][n] for n in WORK_STAGES]
    client_ids = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(clients)]
    sample: list[str] = []
    keep = min(1.0, 3000 / max(1, deals))
    started = time.monotonic()
    conn = sqlite3.connect(path, timeout=60)
    iso = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")  # noqa: E731 - SQLAlchemy's SQLite format
    conn.executemany(f"INSERT INTO clients ({', '.join(CLIENT_COLUMNS)}) VALUES ({', '.join('?' * 17)})",
                     [(cid, name, name_lc(name, None), phone, "UZ", None, co["client_funnel"], co["client_stage"],
                       users[i % len(users)], "{}", iso(base + _dt.timedelta(seconds=i)),
                       iso(base + _dt.timedelta(seconds=i)), co["admin_id"], 0, None, None, co["company_id"])
                      for i, (cid, (name, phone)) in enumerate(zip(client_ids, people(clients)))])
    rows = []
    for i in range(deals):
        did = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        if rnd.random() < keep and len(sample) < 5000:
            sample.append(did)
        t = iso(base + _dt.timedelta(seconds=clients + i))
        rows.append((did, f"Deal {i}", f"deal {i}", rnd.randrange(1, 10**9), client_ids[i % clients],
                     co["deal_funnel"], deal_stages[i % len(deal_stages)], users[i % len(users)], "{}", t, t,
                     co["admin_id"], 0, None, None, co["company_id"]))
    conn.executemany(f"INSERT INTO deals ({', '.join(DEAL_COLUMNS)}) VALUES ({', '.join('?' * 16)})", rows)
    for statement in totals.REBUILD:
        conn.execute(statement)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    log(f"  {deals} deals inserted in {time.monotonic() - started:.0f} s")
    return {"sample_deal_ids": sample, "load_seconds": time.monotonic() - started}
