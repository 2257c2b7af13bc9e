"""`make run` takes the operator's environment: every value it sets by default gives way to an exported
one (then to `.env`), it says which values are not defaults with the secrets masked, and the system
then uses them: records on the PostgreSQL database named by RECORDS_DATABASE_URL, CLICK callbacks
checked with the exported merchant secret."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.support.infra import ROOT, postgres_available, postgres_database
from tests.support.system import Api, sign_up, stack_mod

pytestmark = pytest.mark.e2e
SECRET = "operator-merchant-secret-42"


def _click_fields(env: dict, secret: str) -> dict:
    fields = {"click_trans_id": "777000111", "service_id": env["CLICK_SERVICE_ID"], "click_paydoc_id": "1",
              "merchant_trans_id": "no-such-order", "amount": "1000", "action": "0", "error": "0",
              "error_note": "Success", "sign_time": "2026-12-02 12:00:00"}
    fields["sign_string"] = hashlib.md5((fields["click_trans_id"] + fields["service_id"] + secret
                                         + fields["merchant_trans_id"] + fields["amount"] + fields["action"]
                                         + fields["sign_time"]).encode()).hexdigest()
    return fields


@contextlib.contextmanager
def _records_database(tmp: pathlib.Path):
    if postgres_available():
        with postgres_database("crm_config") as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'elsewhere' / 'records.db'}"


def test_make_run_takes_the_environment_first_and_says_what_it_took(tmp_path):
    var = tmp_path / "var"
    with _records_database(tmp_path) as records_url:
        # what an operator exports: other ports (this machine runs other systems), the real merchant's
        # secret, records on PostgreSQL; the rest is left to the defaults
        exported = stack_mod.environment(var, ports=stack_mod.free_ports())
        exported.update({"RECORDS_DATABASE_URL": records_url, "CLICK_SECRET_KEY": SECRET, "VAR_DIR": str(var),
                         "GATEWAY_IP_PER_MINUTE": "100000"})
        log = tmp_path / "make-run.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "tools/stack.py", "run"], cwd=ROOT, stdout=out,
                                    stderr=subprocess.STDOUT, env={**os.environ, **exported},
                                    start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while "CRM is ready" not in log.read_text(errors="replace"):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                time.sleep(0.5)
            said = log.read_text(errors="replace")
            assert "setting CLICK_SECRET_KEY=****" in said and SECRET not in said
            assert f"setting GATEWAY_BIND={exported['GATEWAY_BIND']}" in said
            assert f"setting RECORDS_DATABASE_URL={stack_mod.masked('RECORDS_DATABASE_URL', records_url)}" in said
            assert "setting IDENTITY_DATABASE_URL" not in said  # a default is not announced

            api = Api("http://" + exported["GATEWAY_BIND"])
            admin = sign_up(api)["api"]
            deal = admin.post("/api/v1/deals", json={"title": "Where am I stored?", "amount": "1000"})
            assert deal.status_code == 201, deal.text
            engine = create_engine(records_url)
            try:
                with engine.connect() as conn:
                    title = conn.execute(text("SELECT title FROM deals WHERE id = :id"),
                                         {"id": deal.json()["id"]}).scalar_one()
            finally:
                engine.dispose()
            assert title == "Where am I stored?"

            click = f"http://{exported['GATEWAY_BIND']}/api/v1/payments/click/prepare"
            with_dev = requests.post(click, data=_click_fields(exported, "dev-click-secret"), timeout=15).json()
            assert with_dev["error"] == -1  # SIGN CHECK FAILED: the dev secret is not in use
            with_ours = requests.post(click, data=_click_fields(exported, SECRET), timeout=15).json()
            assert with_ours["error"] not in (-1, 0)  # signed right; the order is unknown
        finally:
            proc.send_signal(signal.SIGTERM)  # make run stops every process it started
            proc.wait(60)
