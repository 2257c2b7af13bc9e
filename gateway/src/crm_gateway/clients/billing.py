"""gRPC calls to billing, one function each, each with a deadline."""

from __future__ import annotations

from crm.billing.v1 import billing_service_pb2 as pb
from crm.billing.v1 import billing_service_pb2_grpc as pb_grpc
from crm_gateway.clients import call, register_backend, stub

SERVICE = "crm.billing.v1.BillingService"
register_backend("billing", (SERVICE,),
                 idempotent=[(SERVICE, m) for m in ("GetSubscription", "CheckAccess", "GetOrder")])


def _billing() -> pb_grpc.BillingServiceStub:
    return stub("billing", pb_grpc.BillingServiceStub)


def get_subscription() -> pb.GetSubscriptionResponse:
    return call(_billing().GetSubscription, pb.GetSubscriptionRequest())


def check_access(timeout: float = 1.0) -> pb.CheckAccessResponse:
    return call(_billing().CheckAccess, pb.CheckAccessRequest(), timeout=timeout)


def create_order(seats: int, months: int) -> pb.CreateOrderResponse:
    return call(_billing().CreateOrder, pb.CreateOrderRequest(seats=seats, months=months))


def get_order(order_id: str) -> pb.GetOrderResponse:
    return call(_billing().GetOrder, pb.GetOrderRequest(id=order_id))


def send_invoice(order_id: str, country: str, number: str) -> pb.SendInvoiceResponse:
    return call(_billing().SendInvoice, pb.SendInvoiceRequest(order_id=order_id, country=country, number=number),
                timeout=10)


def click_prepare(params: dict[str, str]) -> pb.ClickPrepareResponse:
    return call(_billing().ClickPrepare, pb.ClickPrepareRequest(params=params), timeout=5)


def click_complete(params: dict[str, str]) -> pb.ClickCompleteResponse:
    return call(_billing().ClickComplete, pb.ClickCompleteRequest(params=params), timeout=5)
