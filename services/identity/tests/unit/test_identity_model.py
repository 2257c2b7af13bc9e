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
    assert [f["code"] for f in errors.fields] == ["invalid_email", "too_long", "required"]


def test_admin_implies_every_permission():
    perms = model.normalize_permissions({"admin": True, "bogus": True})
    assert all(perms.values()) and "bogus" not in perms
    assert model.granted(model.normalize_permissions({"edit_phone": True})) == ["edit_phone"]
