"""Caps on invoices: each one CLICK sends is an SMS to a phone, so nobody may make CLICK text a phone
without end (one order to many phones, many orders to one phone, one company to many phones).

Counted per hour, in billing's `invoices_sent` (every invoice CLICK was asked to send, kept with its
phone), inside `send_invoice`'s transaction with the order's row locked: an order's own count is exact;
the phone's and the company's counts are read, not locked, so two orders sent at the same instant may
both pass the last free place (the caps are a guard against abuse, not a quota to the unit). A phone
is counted across companies: it is the recipient's cap, whoever asks. Over a cap the call is refused
with `rate_limited` (429, `retry_after` until the oldest counted invoice is an hour old, `limit` naming
the cap); nothing is sent and nothing changes. A repeated click for the same phone is not a new
invoice and counts nothing (`send_invoice` answers the pending one).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_platform.errors import RateLimited
from crm_billing.adapters.orm import InvoiceSent

WINDOW = _dt.timedelta(hours=1)


@dataclass(frozen=True)
class InvoiceCaps:
    """Invoices allowed per hour: per order, per phone (whoever asks), per company."""

    per_order: int = 5
    per_phone: int = 3
    per_company: int = 20

    def check(self, s: Session, company_id: str, order_id: str, phone: str, now: _dt.datetime) -> None:
        """Raise RateLimited when one more invoice would exceed a cap."""
        since = now - WINDOW
        recent = select(func.count(), func.min(InvoiceSent.created_at)).where(InvoiceSent.created_at > since)
        for name, cap, query in (
                ("order", self.per_order, recent.where(InvoiceSent.order_id == order_id)),
                ("phone", self.per_phone, recent.where(InvoiceSent.phone == phone)
                 .execution_options(all_tenants=True)),
                ("company", self.per_company, recent.where(InvoiceSent.company_id == company_id))):
            count, oldest = s.execute(query).one()
            if cap > 0 and count >= cap:
                if oldest.tzinfo is None:  # SQLite hands datetimes back naive (stored as UTC)
                    oldest = oldest.replace(tzinfo=_dt.timezone.utc)
                retry = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
                raise RateLimited("rate_limited", "Too many invoices", retry_after=retry, limit=name)

    @staticmethod
    def record(s: Session, company_id: str, order_id: str, phone: str, invoice_id: int, now: _dt.datetime) -> None:
        s.add(InvoiceSent(company_id=company_id, order_id=order_id, phone=phone, invoice_id=invoice_id, created_at=now))
