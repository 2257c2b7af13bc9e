"""Uzbek in a real browser: the sign-up page switched to Uzbek offers Uzbek as the company's language, a
validation error comes back in Uzbek, the new company's board shows the Uzbek stages, and a signed-in
session switches its whole UI to Uzbek (screenshots under artifacts/screenshots/)."""

from __future__ import annotations

import pytest
import requests

from tests.support.system import sign_up, unique_email

pytestmark = pytest.mark.e2e

UZ_DEAL_STAGES = ["Yangi", "Bog‘lanildi", "Taklif berildi", "Muvaffaqiyatsiz", "Muvaffaqiyatli"]


def _select_value(browser, css: str) -> str:
    return browser.driver.execute_script("return document.querySelector(arguments[0]).value", css)


def test_signing_up_in_uzbek_seeds_an_uzbek_company(browser, system):
    browser.open("/login")
    browser.click("#signup-link")
    assert browser.find("#signup-page h1").text == "Регистрация компании"  # Russian by default
    assert _select_value(browser, "#signup-form select[name=language]") == "ru"
    browser.click("#signup-page [data-lang=uz]")
    assert browser.find("#signup-page h1").text == "Kompaniyani ro‘yxatdan o‘tkazish"
    # the company's language follows the UI's until it is picked
    assert _select_value(browser, "#signup-form select[name=language]") == "uz"
    browser.text("#signup-form [data-field=language] .label", "Kompaniya tili")
    email = unique_email("uzui")
    for name, value in (("company_name", "Toshkent Savdo"), ("first_name", "Dilnoza"), ("last_name", "Yusupova"),
                        ("email", email), ("password", "short")):
        browser.fill(f"#signup-form input[name={name}]", value)
    browser.click("#signup-submit")
    # the gateway's answer in Uzbek (the page sends Accept-Language: uz), next to the field
    assert browser.find("#signup-form [data-field=password] .field-error").text == "Kamida 8 ta belgi."
    browser.shot("signup_uz_error")
    browser.fill("#signup-form input[name=password]", "Samarqand-2026")
    browser.shot("signup_uz")
    browser.click("#signup-submit")
    browser.find("#user-menu-button")
    for stage in UZ_DEAL_STAGES:  # the board's columns are the funnel seeded in Uzbek
        browser.find(f"#board .column[data-stage='{stage}']")
    browser.text("nav", "Bitimlar")
    browser.shot("board_uz")
    tokens = browser.driver.execute_script("return JSON.parse(sessionStorage.getItem('crm.tokens'))")
    me = requests.get(system.gateway_url() + "/api/v1/me", timeout=10,
                      headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert me["company"]["language"] == "uz" and me["company"]["name"] == "Toshkent Savdo"
    assert me["role"]["name"] == "Administrator"


def test_a_russian_session_switches_to_uzbek(browser, api):
    a = sign_up(api)  # a Russian company: its names stay Russian whatever the UI's language
    browser.log_in_as(a["tokens"])
    browser.open("/board")
    browser.find("#board .column[data-stage='Новая']")
    browser.text("nav", "Сделки")
    browser.click("#user-menu-button")
    browser.click("#user-menu [data-lang=uz]")
    browser.text("#logout", "Chiqish")
    browser.text("nav", "Bitimlar jadvali")
    browser.text("#nav-settings", "Sozlamalar")
    assert browser.driver.execute_script("return document.documentElement.lang") == "uz"
    browser.find("#board .column[data-stage='Новая']")
    browser.shot("board_ru_company_uz_ui")
