"""Billing settings, read once from BILLING_* and the shared CLICK_* environment variables."""

import dataclasses

from crm_platform.config import setting
from crm_platform.runtime import ServiceSettings
from crm_billing.domain.model import uzs_to_tiyin


@dataclasses.dataclass(frozen=True, kw_only=True)
class BillingSettings(ServiceSettings):
    """What the billing processes need."""

    price_per_seat_month_tiyin: int = setting("PRICE_PER_SEAT_MONTH_UZS", 50_000 * 100, uzs_to_tiyin,
                                              doc="price of one seat for one month in UZS, e.g. 50000")
    trial_days: int = setting("TRIAL_DAYS", 14, int, doc="length of a new company's trial in days (0 = none)")
    click_service_id: str = setting("CLICK_SERVICE_ID", shared=True, doc="CLICK service id")
    click_merchant_id: str = setting("CLICK_MERCHANT_ID", shared=True, doc="CLICK merchant (supplier) id")
    click_merchant_user_id: str = setting("CLICK_MERCHANT_USER_ID", shared=True, doc="CLICK Merchant API user id")
    click_secret_key: str = setting("CLICK_SECRET_KEY", shared=True, secret=True,
                                    doc="CLICK secret: callback MD5 and Merchant API SHA1")
    click_pay_url: str = setting("CLICK_PAY_URL", "https://my.click.uz/services/pay", shared=True,
                                 doc="CLICK payment page")
    click_api_url: str = setting("CLICK_API_URL", "https://api.click.uz/v2/merchant", shared=True,
                                 doc="CLICK Merchant API base URL")
    invoices_per_order: int = setting("INVOICES_PER_ORDER", 5, int,
                                      doc="invoices (phones) one order may be sent to")
    invoices_per_phone_per_hour: int = setting("INVOICES_PER_PHONE_PER_HOUR", 3, int,
                                               doc="invoice SMS one phone may get in an hour, whoever asks")
    invoices_per_company_per_hour: int = setting("INVOICES_PER_COMPANY_PER_HOUR", 20, int,
                                                 doc="invoices one company may have sent in an hour")
    click_api_timeout: float = setting("CLICK_API_TIMEOUT_SECONDS", 5.0, float)
    public_url: str = setting("PUBLIC_URL", "http://127.0.0.1:8080", shared=True,
                              doc="web UI base URL: the payment page's return_url")
