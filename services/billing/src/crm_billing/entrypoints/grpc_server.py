"""gRPC servicer of billing: proto in, use case, proto out. No rules here."""

from __future__ import annotations

from crm.billing.v1 import billing_service_pb2 as pb
from crm.billing.v1 import billing_service_pb2_grpc as pb_grpc
from crm_platform.context import current_principal
from crm_billing.service_layer.services import BillingService, State
from crm_platform.db import rfc3339

PUBLIC_METHODS = {f"/crm.billing.v1.BillingService/{m}" for m in ("ClickPrepare", "ClickComplete")}


def subscription_pb(st: State) -> pb.Subscription:
    return pb.Subscription(plan=st.plan, price_per_seat_month_tiyin=st.price_per_seat_month_tiyin, seats=st.seats,
                           active_users=st.active_users, paid_until=rfc3339(st.paid_until), expired=st.expired,
                           paid_until_with_one_more_user=rfc3339(st.paid_until_with_one_more_user),
                           seats_paid=st.seats_paid)


def answer_pb(a: dict) -> pb.ClickAnswer:
    return pb.ClickAnswer(**a)


class BillingServicer(pb_grpc.BillingServiceServicer):
    """Subscriptions, orders and CLICK callbacks."""

    def __init__(self, service: BillingService):
        self.svc = service
        service.reverser.kick()  # reversals a stopped process left half-way are taken up again

    def _order_pb(self, order) -> pb.Order:
        return pb.Order(**self.svc.order_view(order))

    def GetSubscription(self, request, context):
        return pb.GetSubscriptionResponse(subscription=subscription_pb(self.svc.get_subscription(current_principal())))

    def CheckAccess(self, request, context):
        st = self.svc.check_access(current_principal())
        return pb.CheckAccessResponse(active=not st.expired, paid_until=rfc3339(st.paid_until))

    def CreateOrder(self, request, context):
        order = self.svc.create_order(current_principal(), request.seats, request.months)
        return pb.CreateOrderResponse(order=self._order_pb(order))

    def GetOrder(self, request, context):
        return pb.GetOrderResponse(order=self._order_pb(self.svc.get_order(current_principal(), request.id)))

    def SendInvoice(self, request, context):
        order, phone = self.svc.send_invoice(current_principal(), request.order_id, request.country, request.number)
        return pb.SendInvoiceResponse(order=self._order_pb(order), phone_number=phone)

    def ClickPrepare(self, request, context):
        return pb.ClickPrepareResponse(answer=answer_pb(self.svc.click_prepare(dict(request.params))))

    def ClickComplete(self, request, context):
        return pb.ClickCompleteResponse(answer=answer_pb(self.svc.click_complete(dict(request.params))))
