"""A company's language end to end through the gateway: sign-up in Uzbek names the roles, group, funnels,
stages and task types in Uzbek and `/me` answers it; Russian is the default; another value is a 422 in
the api.md error format (in Uzbek for `Accept-Language: uz`) and creates nothing; the reset e-mail speaks
Uzbek."""

from __future__ import annotations

import pathlib

import pytest

from tests.support.infra import read_mails, wait_for
from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e

STAGES = {
    "uz": {"deal": ["Yangi", "Bog‘lanildi", "Taklif berildi", "Muvaffaqiyatsiz", "Muvaffaqiyatli"],
           "client": ["Yangi", "Ishlanmoqda", "Rad etdi", "Xaridor"]},
    "ru": {"deal": ["Новая", "Первичный контакт", "Предложение сделано", "Проиграна", "Выиграна"],
           "client": ["Новый", "В работе", "Отказался", "Покупатель"]},
}


def _seeded(admin) -> dict:
    """What sign-up seeded, by name: roles, groups, each funnel's name and stages, the built-in task types."""
    funnels = {}
    for f in admin.get("/api/v1/funnels").json()["items"]:
        full = admin.get(f"/api/v1/funnels/{f['id']}").json()
        funnels[f["entity"]] = (full["name"], [s["name"] for g in full["groups"] for s in g["stages"]])
    return {"roles": sorted(r["name"] for r in admin.get("/api/v1/roles").json()["items"]),
            "groups": [g["name"] for g in admin.get("/api/v1/groups").json()["items"]],
            "funnels": funnels,
            "task_types": [t["name"] for t in admin.get("/api/v1/task-types").json()["items"] if t["builtin"]]}


def test_an_uzbek_company_is_seeded_in_uzbek_and_me_answers_it(api):
    a = sign_up(api, language="uz")
    assert a["company"]["language"] == "uz"
    admin = a["api"]
    me = admin.get("/api/v1/me").json()
    assert me["company"]["language"] == "uz" and me["role"]["name"] == "Administrator"
    assert _seeded(admin) == {
        "roles": ["Administrator", "Menejer"], "groups": ["Asosiy"],
        "funnels": {"deal": ("Bitimlar", STAGES["uz"]["deal"]), "client": ("Mijozlar", STAGES["uz"]["client"])},
        "task_types": ["Qo‘ng‘iroq", "Uchrashuv", "Elektron xat", "Vazifa"]}
    board = admin.get("/api/v1/board").json()  # the board's columns are the same stages
    assert [c["stage"]["name"] for c in board["columns"]] == STAGES["uz"]["deal"]


def test_russian_is_the_default(api):
    a = sign_up(api)
    admin = a["api"]
    assert a["company"]["language"] == admin.get("/api/v1/me").json()["company"]["language"] == "ru"
    assert _seeded(admin) == {
        "roles": ["Администратор", "Менеджер"], "groups": ["Основная"],
        "funnels": {"deal": ("Сделки", STAGES["ru"]["deal"]), "client": ("Клиенты", STAGES["ru"]["client"])},
        "task_types": ["Звонок", "Встреча", "Письмо", "Задача"]}


def test_english_stays_available(api):
    a = sign_up(api, language="en")
    seeded = _seeded(a["api"])
    assert a["api"].get("/api/v1/me").json()["company"]["language"] == "en"
    assert seeded["roles"] == ["Administrator", "Manager"] and seeded["groups"] == ["Main"]
    assert seeded["funnels"]["deal"] == ("Deals", ["New", "Contacted", "Offer made", "Lost", "Won"])
    assert seeded["task_types"] == ["Call", "Meeting", "E-mail", "Task"]


@pytest.mark.parametrize("language", ["de", "UZ-Cyrl", "", 7])
def test_another_language_is_a_422_in_uzbek_and_creates_nothing(api, language):
    email = unique_email("lang")
    body = {"company_name": "Co", "first_name": "Aziz", "last_name": "Karimov", "email": email,
            "password": "pass-1234", "language": language}
    resp = api.post("/api/v1/signup", json=body, headers={"Accept-Language": "uz"})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_failed" and error["message"] == "Ba’zi maydonlar noto‘g‘ri to‘ldirilgan."
    field = error["details"]["fields"][0]
    assert field["field"] == "language" and field["code"] in ("invalid_choice", "invalid_type")
    assert field["message"] in ("Ruxsat etilgan qiymatlardan birini tanlang.", "Qiymat turi noto‘g‘ri.")
    login = api.post("/api/v1/auth/login", json={"email": email, "password": "pass-1234"})
    assert login.status_code == 401  # no company, no user


def test_the_reset_email_speaks_uzbek(api, system):
    a = sign_up(api, language="uz")
    email = a["user"]["email"]
    resp = api.post("/api/v1/auth/password/forgot", json={"email": email}, headers={"Accept-Language": "uz-UZ"})
    assert resp.status_code == 202
    folder = pathlib.Path(system.env["MAIL_DIR"])
    mails = wait_for(lambda: [m for m in read_mails(folder) if m["To"] == email], timeout=15, message="the mail")
    assert mails[-1]["Subject"] == "CRM parolini tiklash"
    body = mails[-1].get_content()
    assert body.startswith("Assalomu alaykum, Aziz!") and "so‘ramagan bo‘lsangiz" in body
