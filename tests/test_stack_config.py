"""`make run`'s settings without starting anything: the environment, then `.env`, then the defaults."""

from __future__ import annotations

from tests.support.system import stack_mod


def test_the_environment_wins_over_dotenv_which_wins_over_the_defaults(tmp_path):
    defaults = {"CLICK_SECRET_KEY": "dev-click-secret", "PUBLIC_URL": "http://127.0.0.1:8080", "SMTP_PORT": "1025"}
    dotenv = tmp_path / ".env"
    dotenv.write_text("# the operator's file\nexport PUBLIC_URL='https://crm.example.uz'\nSMTP_PORT=2525\n"
                      "REDIS_URL=redis://127.0.0.1:6379/0\n")
    env, chosen = stack_mod.operator_environment(defaults, environ={"SMTP_PORT": "587", "UNRELATED": "x"},
                                                 dotenv=stack_mod.read_dotenv(dotenv))
    assert env == {"CLICK_SECRET_KEY": "dev-click-secret", "PUBLIC_URL": "https://crm.example.uz",
                   "SMTP_PORT": "587", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert chosen == {"PUBLIC_URL": "https://crm.example.uz", "SMTP_PORT": "587",
                      "REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert stack_mod.read_dotenv(tmp_path / "missing") == {}


def test_secrets_and_url_passwords_are_masked_when_printed():
    assert stack_mod.masked("CLICK_SECRET_KEY", "real-secret") == "****"
    assert stack_mod.masked("AUTH_PRIVATE_KEY", "/keys/access.pem") == "****"
    assert stack_mod.masked("RECORDS_DATABASE_URL", "postgresql+psycopg://crm:s3cret@db:5432/records") \
        == "postgresql+psycopg://crm:****@db:5432/records"
    assert stack_mod.masked("PUBLIC_URL", "https://crm.example.uz") == "https://crm.example.uz"
