// Settings → Bill and payment: the plan state; "Buy" creates an order and goes to the CLICK page,
// which sends the user back here with ?order=<id>.
import { useEffect, useState } from "preact/hooks";
import { get, post } from "../api";
import { t, type TextKey } from "../i18n";
import { can, useMe } from "../session";
import { dateTime, ErrorBox, money, TextField, useBusy } from "../ui";

interface Billing {
  plan: "trial" | "paid";
  price_per_seat_month: string;
  seats: number;
  seats_paid: number;
  active_users: number;
  paid_until: string;
  expired: boolean;
  preview: { paid_until_with_one_more_user: string };
}

interface Order {
  id: string;
  seats: number;
  months: number;
  amount: string;
  status: "pending" | "paid" | "cancelled";
  payment_url: string;
}

export function BillingPage() {
  const me = useMe();
  const [state, setState] = useState<Billing | null>(null);
  const [order, setOrder] = useState<Order | null>(null);
  const [seats, setSeats] = useState("");
  const [months, setMonths] = useState("1");
  const [error, setError] = useState<unknown>(null);
  const orderId = new URLSearchParams(location.search).get("order");

  const load = () => get<Billing>("/api/v1/billing").then((b) => {
    setState(b);
    setSeats((cur) => cur || String(Math.max(b.active_users, 1)));
  }, setError);
  useEffect(() => {
    load();
    if (!orderId) return;
    let stop = false;
    let tries = 0;
    const poll = async () => {
      try {
        const o = await get<Order>(`/api/v1/billing/orders/${encodeURIComponent(orderId)}`);
        setOrder(o);
        if (o.status === "paid") load();
        else if (o.status === "pending" && tries++ < 20 && !stop) setTimeout(poll, 500);
      } catch (e) {
        setError(e);
      }
    };
    poll();
    return () => {
      stop = true;
    };
  }, [orderId]);

  const [buying, run] = useBusy();
  const buy = (e: Event) => {
    e.preventDefault();
    run(async () => {
      setError(null);
      try {
        const o = await post<Order>("/api/v1/billing/orders", { seats: Number(seats), months: Number(months) });
        location.assign(o.payment_url);
      } catch (err) {
        setError(err);
      }
    });
  };
  return (
    <div id="billing-page">
      <h1>{t("settings_billing")}</h1>
      <ErrorBox error={error} />
      {order && (
        <div class={`alert ${order.status === "paid" ? "success" : "info"}`} id="order-status" data-status={order.status}>
          {t("order_status", { seats: order.seats, months: order.months, amount: money(order.amount), status: t(`status_${order.status}` as TextKey) })}
        </div>
      )}
      {state && (
        <dl class="facts" id="billing-state">
          <dt>{t("plan")}</dt><dd id="plan">{t(state.plan === "paid" ? "plan_paid" : "plan_trial")}</dd>
          <dt>{t("price_per_seat")}</dt><dd>{money(state.price_per_seat_month)} {t("sum")}</dd>
          <dt>{t("seats")}</dt><dd id="seats-paid">{state.seats_paid}</dd>
          <dt>{t("active_users")}</dt><dd>{state.active_users}</dd>
          <dt>{t("paid_until")}</dt><dd id="paid-until">{dateTime(state.paid_until)}</dd>
          {state.preview?.paid_until_with_one_more_user && (
            <><dt>{t("preview_more")}</dt><dd class="muted">{dateTime(state.preview.paid_until_with_one_more_user)}</dd></>
          )}
        </dl>
      )}
      {state?.expired && <div class="alert error">{t("expired")}</div>}
      {can(me, "manage_billing") && state && (
        <form class="inline-form" onSubmit={buy} id="buy-form">
          <TextField label={t("users_count")} name="seats" type="number" min={1} value={seats} onValue={setSeats} />
          <TextField label={t("months")} name="months" type="number" min={1} value={months} onValue={setMonths} />
          <p class="muted">
            {t("order_total", { amount: money(Number(state.price_per_seat_month) * Number(seats || 0) * Number(months || 0)) })}
          </p>
          <button type="submit" class="primary" id="buy" disabled={buying}>{t("buy")} · {t("bank_card")}</button>
        </form>
      )}
    </div>
  );
}
