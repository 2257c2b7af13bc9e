"""The FAQ's words and places (issue 25): the «Удалённые» filter on «Сделки» (the board), the group names,
«Другие палитры», «Добавить», «Поменять», and the 30- and 50-character limits on the inputs."""

from __future__ import annotations

import pytest

from tests.browser.test_records_ui import company, deal_funnel, new_user, stages  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


def test_the_board_offers_the_deleted_filter_and_opens_a_deleted_deal(browser, company):  # noqa: F811
    api = company["api"]
    first = stages(deal_funnel(company), "unprocessed")[0]
    kept = api.post("/api/v1/deals", json={"title": "Останется", "stage_id": first["id"]}).json()
    gone = api.post("/api/v1/deals", json={"title": "Удалённая сделка", "stage_id": first["id"]}).json()
    assert api.delete(f"/api/v1/deals/{gone['id']}").status_code == 200
    browser.log_in_as(company["tokens"])
    browser.open("/board")
    assert browser.find("nav a.active").text == "Сделки"
    browser.find(f"#board .card[data-deal-id='{kept['id']}']")
    assert not browser.all(f"#board .card[data-deal-id='{gone['id']}']")
    toggle = browser.find("#board-filters input[name=board_deleted]")
    assert toggle.find_element("xpath", "..").text == "Удалённые"
    toggle.click()
    card = browser.find(f"#board .column[data-stage-id='{first['id']}'] .card[data-deal-id='{gone['id']}']")
    assert "Удалена" in card.text and card.get_attribute("draggable") == "false"
    browser.gone(f"#board .card[data-deal-id='{kept['id']}']")
    browser.shot("board_deleted_filter")
    browser.click(f"#board .card[data-deal-id='{gone['id']}'] a.title")
    browser.find("#deal-card #deleted-banner")
    assert browser.path == f"/deals/{gone['id']}"  # the link to send to an administrator


def test_the_faq_words_on_the_funnel_users_and_deals_screens(browser, company):  # noqa: F811
    new_user(company)
    first = stages(deal_funnel(company), "unprocessed")[0]
    assert company["api"].post("/api/v1/deals", json={"title": "Сделка", "stage_id": first["id"]}).status_code == 201
    browser.log_in_as(company["tokens"])
    browser.open("/settings/funnel")
    browser.find("#funnel-editor .funnel-group h3")
    groups = [h.get_attribute("textContent") for h in browser.all("#funnel-editor .funnel-group h3")]
    assert groups == ["Необработанные", "В работе", "Проваленные", "Успешные"], groups
    browser.click("#funnel-edit")
    stage = "#funnel-editor [data-group=in_progress] li.stage:first-child"
    assert browser.find(f"{stage} input[name=stage-name]").get_attribute("maxlength") == "50"
    browser.click(f"{stage} [data-action=color]")
    assert browser.find(f"{stage} .palette-pop .custom-color").text == "Другие палитры"

    browser.open("/settings/users")
    browser.click("#create-user")
    assert browser.find("#create-user-submit").text == "Добавить"
    for name in ("first_name", "last_name", "email", "password"):
        assert browser.find(f"#create-user-form input[name={name}]").get_attribute("maxlength") == "30", name

    browser.open("/deals")
    browser.click("#deals-table tbody tr input[name=select]")
    assert browser.find("#bulk-change").text == "Поменять"


def test_sign_up_limits_the_persons_fields_to_30_characters(browser):
    browser.open("/signup")
    for name in ("first_name", "last_name", "email", "password"):
        field = browser.find(f"input[name={name}]")
        assert field.get_attribute("maxlength") == "30", name
        field.send_keys("я" * 31 if name != "email" else "a" * 31)
        assert len(field.get_attribute("value")) == 30, name
