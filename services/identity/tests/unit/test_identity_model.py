"""Identity rules without I/O."""

from crm_platform.errors import FieldCollector
from crm_identity.domain import model


def test_crm_ids_are_readable_random_and_normalised():
    ids = {model.new_crm_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 8 and set(i) <= set(model.CRM_ID_ALPHABET) for i in ids)
    assert model.normalize_crm_id(" k7m2-q9xd ") == "K7M2Q9XD"
    assert model.format_crm_id("K7M2Q9XD") == "K7M2-Q9XD"


def test_text_limits_count_characters_after_trimming():
    errors = FieldCollector()
    assert model.check_text(errors, "first_name", "  " + "я" * 30 + " ") == "я" * 30
    model.check_text(errors, "last_name", "x" * 31)
    model.check_text(errors, "first_name", "   ")
    assert [(f["field"], f["code"]) for f in errors.fields] == [("last_name", "too_long"), ("first_name", "required")]


def test_email_and_password_rules():
    errors = FieldCollector()
    assert model.check_email(errors, "email", " Aziz@Acme.UZ ") == "aziz@acme.uz"
    model.check_email(errors, "email", "no-at-sign")
    model.check_password(errors, "password", "p" * 31)
    model.check_password(errors, "password", "   ")
    model.check_password(errors, "password", "seven77")
    model.check_password(errors, "password", " PassWord1 ")  # common, whatever the case
    assert [f["code"] for f in errors.fields] == ["invalid_email", "too_long", "required", "too_short",
                                                  "password_common"]
    assert [f["params"] for f in errors.fields if f["code"] == "too_short"] == [{"min": 8}]
    ok = FieldCollector()
    for password in ("pass-1234", "k7m2q9xd", "п" * 30):
        assert model.check_password(ok, "password", password) == password
    assert not ok.fields


def test_the_common_password_list_ships_with_the_package():
    common = model.common_passwords()
    assert len(common) >= 9900 and "123456789" in common and "qwerty123" in common
    assert all(p == p.lower() for p in common)
    for used_by_the_tests in ("pass-1234", "same-pass-1", "new-pass-1", "bench-pass-1"):
        assert not model.is_common_password(used_by_the_tests)


def test_nobody_grants_a_right_they_do_not_hold():
    assert model.beyond(frozenset({"admin"}), ["admin", "manage_billing"]) == []
    assert model.beyond(frozenset({"manage_roles", "edit_phone"}), ["edit_phone", "admin", "manage_billing"]) == \
        ["admin", "manage_billing"]
    old = model.normalize_permissions({"edit_phone": True, "manage_billing": True})
    new = model.normalize_permissions({"edit_phone": False, "manage_billing": True, "manage_funnels": True})
    assert model.changed_toggles(old, new) == ["edit_phone", "manage_funnels"]


def test_admin_implies_every_permission():
    perms = model.normalize_permissions({"admin": True, "bogus": True})
    assert all(perms.values()) and "bogus" not in perms
    assert model.granted(model.normalize_permissions({"edit_phone": True})) == ["edit_phone"]


def test_the_reset_email_speaks_the_users_language():
    from types import SimpleNamespace

    from crm_identity.service_layer.passwords import mail_language, reset_mail

    assert [mail_language(x) for x in ("uz-UZ", "uz", "en-US", "ru", "de", "")] == ["uz", "uz", "en", "ru", "ru", "ru"]
    company = SimpleNamespace(name="Savdo", crm_id="123456789")
    for lang, greeting in (("uz", "Assalomu alaykum, Dilnoza!"), ("ru", "Здравствуйте, Dilnoza!"),
                           ("en", "Hello Dilnoza,")):
        subject, body = reset_mail(lang, "Dilnoza", company, "https://crm.example.uz/reset#token=t", 60)
        assert subject and body.startswith(greeting) and "https://crm.example.uz/reset#token=t" in body
        assert "60" in body
