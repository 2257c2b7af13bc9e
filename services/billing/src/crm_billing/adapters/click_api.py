"""CLICK Merchant API client (`invoice/create`, `invoice/status`, `payment/status`, `payment/reversal`) with
the Auth header.

The base URL is configuration: the real `https://api.click.uz/v2/merchant` in production, the
local simulator in development and tests.
"""

from __future__ import annotations

import hashlib
import logging
import time

import requests

log = logging.getLogger(__name__)


class ClickApiError(RuntimeError):
    """CLICK did not answer, or answered with an HTTP error."""


def auth_header(merchant_user_id: str, secret_key: str, timestamp: int | None = None) -> str:
    """`merchant_user_id:sha1(timestamp + secret_key):timestamp` with a 10-digit Unix timestamp."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hashlib.sha1((ts + secret_key).encode()).hexdigest()  # noqa: S324 - the protocol's digest
    return f"{merchant_user_id}:{digest}:{ts}"


class ClickMerchantApi:
    """Calls to CLICK's Merchant API."""

    def __init__(self, base_url: str, service_id: str, merchant_user_id: str, secret_key: str, timeout: float = 5):
        self.base = base_url.rstrip("/")
        self.service_id = service_id
        self.merchant_user_id = merchant_user_id
        self.secret_key = secret_key
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   "Auth": auth_header(self.merchant_user_id, self.secret_key)}
        try:
            resp = self.http.request(method, f"{self.base}/{path}", json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ClickApiError(f"CLICK unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise ClickApiError(f"CLICK answered HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError as exc:
            raise ClickApiError("CLICK answered something that is not JSON") from exc

    def create_invoice(self, amount: str, phone_number: str, merchant_trans_id: str) -> dict:
        """POST invoice/create; returns error_code, error_note, invoice_id."""
        return self._call("POST", "invoice/create", {"service_id": int(self.service_id), "amount": float(amount),
                                                     "phone_number": phone_number,
                                                     "merchant_trans_id": merchant_trans_id})

    def invoice_status(self, invoice_id: int) -> dict:
        """GET invoice/status/:service_id/:invoice_id."""
        return self._call("GET", f"invoice/status/{self.service_id}/{invoice_id}")

    def payment_status(self, payment_id: int) -> dict:
        """GET payment/status/:service_id/:payment_id."""
        return self._call("GET", f"payment/status/{self.service_id}/{payment_id}")

    def reverse_payment(self, payment_id: str) -> dict:
        """DELETE payment/reversal/:service_id/:payment_id (click.md 4.2: a successful payment of this
        month, made with an online card); returns error_code, error_note, payment_id."""
        return self._call("DELETE", f"payment/reversal/{self.service_id}/{payment_id}")
