// Reports: the sales funnel of a period (entered per stage, conversion to won, the summary figures), the won
// and lost deals by week, and the team's table (sortable), each downloadable as CSV. The funnel, the period,
// the responsible and the team's sort are kept in the URL's query, so a link reproduces the view. Without the
// role right `view_reports` the report is of the caller's own deals (the API narrows it; no responsible picker).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, qs } from "../api";
import { locale, t, type TextKey } from "../i18n";
import { can, fullName, useMe } from "../session";
import { ErrorBox, money, SelectField, TextField } from "../ui";
import { useRefs } from "./common";
import { CsvButton, day, FunnelChart, percent, type StageRow, TrendChart, type Week } from "./report_charts";

interface FunnelReport {
  funnel_id: string;
  from: string;
  to: string;
  time_zone: string;
  responsible_id: string | null;
  stages: StageRow[];
  created: number;
  won: number;
  lost: number;
  win_rate: number | null;
  won_amount: string;
  won_amount_tiyin: number;
  average_days_to_win: number | null;
  weeks: Week[];
}

interface TeamRow {
  responsible_id: string;
  name: string;
  open_deals: number;
  open_amount: string;
  open_amount_tiyin: number;
  won: number;
  won_amount: string;
  won_amount_tiyin: number;
  lost: number;
  win_rate: number | null;
  overdue_tasks: number;
}

interface TeamReport {
  funnel_id: string;
  from: string;
  to: string;
  time_zone: string;
  items: TeamRow[];
}

const PERIODS = ["this_month", "last_month", "this_quarter", "custom"] as const;
type Period = (typeof PERIODS)[number];
type Dir = "asc" | "desc";

interface View {
  funnel_id: string;
  period: Period;
  from: string;
  to: string;
  responsible_id: string;
  sort: string;
  dir: Dir;
}

const DEFAULT_SORT = "name";

function readView(): View {
  const q = new URLSearchParams(location.search);
  const raw = q.get("period") ?? "";
  const from = q.get("from") ?? "";
  const to = q.get("to") ?? "";
  const period: Period = (PERIODS as readonly string[]).includes(raw) ? (raw as Period)
    : from || to ? "custom" : "this_month";
  return { funnel_id: q.get("funnel_id") ?? "", period, from, to, responsible_id: q.get("responsible_id") ?? "",
    sort: q.get("sort") || DEFAULT_SORT, dir: q.get("dir") === "desc" ? "desc" : "asc" };
}

function viewQuery(v: View): string {
  return qs({ funnel_id: v.funnel_id, period: v.period === "this_month" ? "" : v.period,
    from: v.period === "custom" ? v.from : "", to: v.period === "custom" ? v.to : "",
    responsible_id: v.responsible_id, sort: v.sort === DEFAULT_SORT ? "" : v.sort, dir: v.dir === "asc" ? "" : v.dir });
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Today's date (YYYY-MM-DD) in the time zone `tz` (the browser's own when it is unknown). */
function today(tz: string | undefined): string {
  const now = new Date();
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz || undefined, year: "numeric", month: "2-digit",
      day: "2-digit" }).formatToParts(now);
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
    return `${part("year")}-${part("month")}-${part("day")}`;
  } catch {
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }
}

/** The first and the last day of a preset period (both inclusive), `now` being today in the company's zone. */
export function periodRange(period: Period, now: string, custom: { from: string; to: string }): [string, string] {
  const [y, m] = now.split("-").map(Number);
  if (period === "last_month") {
    const [py, pm] = m === 1 ? [y - 1, 12] : [y, m - 1];
    const last = new Date(Date.UTC(py, pm, 0)).getUTCDate();
    return [`${py}-${pad(pm)}-01`, `${py}-${pad(pm)}-${pad(last)}`];
  }
  if (period === "this_quarter") return [`${y}-${pad(Math.floor((m - 1) / 3) * 3 + 1)}-01`, now];
  if (period === "custom") return [custom.from, custom.to];
  return [`${y}-${pad(m)}-01`, now];
}

const sum = (value: string | number | null | undefined) => `${money(value ?? 0)} ${t("sum")}`;

function Summary({ r }: { r: FunnelReport }) {
  const days = r.average_days_to_win === null || r.average_days_to_win === undefined ? "—"
    : t("rep_days", { n: r.average_days_to_win.toLocaleString(locale(), { maximumFractionDigits: 1 }) });
  const items: Array<[string, TextKey, string, string | number]> = [
    ["created", "rep_created", r.created.toLocaleString(locale()), r.created],
    ["won", "rep_won", r.won.toLocaleString(locale()), r.won],
    ["lost", "rep_lost", r.lost.toLocaleString(locale()), r.lost],
    ["win_rate", "rep_win_rate", percent(r.win_rate), r.win_rate ?? ""],
    ["won_amount", "rep_won_amount", sum(r.won_amount), r.won_amount],
    ["average_days_to_win", "rep_avg_days", days, r.average_days_to_win ?? ""],
  ];
  return (
    <dl class="report-summary" id="report-summary">
      {items.map(([key, label, shown, value]) => (
        <div key={key} class={`stat stat-${key}`} data-key={key}>
          <dt>{t(label)}</dt>
          <dd data-value={value}>{shown}</dd>
        </div>
      ))}
    </dl>
  );
}

interface Column {
  key: string;
  label: TextKey;
  num: boolean;
  value: (r: TeamRow) => number | string;
  show: (r: TeamRow) => string;
}

const COLUMNS: Column[] = [
  { key: "name", label: "rep_col_name", num: false, value: (r) => r.name, show: (r) => r.name },
  { key: "open_deals", label: "rep_col_open", num: true, value: (r) => r.open_deals, show: (r) => r.open_deals.toLocaleString(locale()) },
  { key: "open_amount", label: "rep_col_open_amount", num: true, value: (r) => r.open_amount_tiyin, show: (r) => sum(r.open_amount) },
  { key: "won", label: "rep_won", num: true, value: (r) => r.won, show: (r) => r.won.toLocaleString(locale()) },
  { key: "won_amount", label: "rep_won_amount", num: true, value: (r) => r.won_amount_tiyin, show: (r) => sum(r.won_amount) },
  { key: "lost", label: "rep_lost", num: true, value: (r) => r.lost, show: (r) => r.lost.toLocaleString(locale()) },
  { key: "win_rate", label: "rep_win_rate", num: true, value: (r) => r.win_rate ?? -1, show: (r) => percent(r.win_rate) },
  { key: "overdue_tasks", label: "rep_col_overdue", num: true, value: (r) => r.overdue_tasks, show: (r) => r.overdue_tasks.toLocaleString(locale()) },
];

function TeamTable({ rows, sort, dir, onSort }: { rows: TeamRow[]; sort: string; dir: Dir;
  onSort: (key: string, dir: Dir) => void }) {
  const col = COLUMNS.find((c) => c.key === sort) ?? COLUMNS[0];
  const sorted = [...rows].sort((a, b) => {
    const [x, y] = [col.value(a), col.value(b)];
    const c = typeof x === "number" && typeof y === "number" ? x - y
      : String(x).localeCompare(String(y), locale(), { sensitivity: "base" });
    return (dir === "asc" ? c : -c) || a.name.localeCompare(b.name, locale());
  });
  return (
    <div class="table-wrap" role="region" aria-labelledby="team-report-title" tabIndex={0}>
      <table class="table report-table" id="team-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = c.key === col.key;
              return (
                <th key={c.key} class={c.num ? "num" : ""} data-col={c.key} scope="col"
                  aria-sort={active ? (dir === "asc" ? "ascending" : "descending") : undefined}>
                  <button type="button" class="sort" data-sort={c.key}
                    onClick={() => onSort(c.key, active && dir === "asc" ? "desc" : "asc")}>
                    {t(c.label)}
                    <span class="sort-mark" aria-hidden="true">{active ? (dir === "asc" ? "▲" : "▼") : "↕"}</span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={r.responsible_id} data-user={r.responsible_id}>
              {COLUMNS.map((c) => (
                <td key={c.key} class={c.num ? "num" : ""} data-col={c.key} data-value={c.value(r)}>{c.show(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ReportsPage() {
  const me = useMe();
  const refs = useRefs();
  const [view, setView] = useState<View>(readView);
  const [funnel, setFunnel] = useState<FunnelReport | null>(null);
  const [team, setTeam] = useState<TeamReport | null>(null);
  const [funnelError, setFunnelError] = useState<unknown>(null);
  const [teamError, setTeamError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const latest = useRef(0);
  const everyone = can(me, "view_reports");
  const zone = (me.company as { time_zone?: string }).time_zone || funnel?.time_zone;

  useEffect(() => {
    const back = () => setView(readView());
    window.addEventListener("popstate", back);
    return () => window.removeEventListener("popstate", back);
  }, []);

  const change = (next: Partial<View>) => {
    const v = { ...view, ...next };
    history.replaceState(null, "", `/reports${viewQuery(v)}`);
    setView(v);
  };

  const [from, to] = periodRange(view.period, today(zone), view);
  const params = { funnel_id: view.funnel_id, from, to };
  const funnelQuery = qs({ ...params, responsible_id: everyone ? view.responsible_id : "" });
  const teamQuery = qs(params);

  useEffect(() => {
    const n = ++latest.current;
    const mine = <T,>(fn: (v: T) => void) => (v: T) => {
      if (latest.current === n) fn(v);
    };
    get<FunnelReport>(`/api/v1/reports/funnel${funnelQuery}`).then(
      mine((r: FunnelReport) => { setFunnel(r); setFunnelError(null); }),
      mine((e: unknown) => { setFunnel(null); setFunnelError(e); }));
    get<TeamReport>(`/api/v1/reports/team${teamQuery}`).then(
      mine((r: TeamReport) => { setTeam(r); setTeamError(null); }),
      mine((e: unknown) => { setTeam(null); setTeamError(e); }));
  }, [funnelQuery, teamQuery, version]);

  const funnels = (refs?.funnels ?? []).filter((f) => f.entity === "deal");
  const shownFunnel = view.funnel_id || funnel?.funnel_id || funnels[0]?.id || "";
  const users = (refs?.users ?? []).filter((u) => u.active || u.id === view.responsible_id);
  const empty = !!funnel && !funnel.created && !funnel.won && !funnel.lost
    && funnel.stages.every((s) => !s.entered && !s.still_here);
  const stamp = `${from || funnel?.from || ""}_${to || funnel?.to || ""}`;
  // a bad date comes back as the field's error (`invalid_date` of `from` or `to`), shown next to its input
  const fe = funnelError instanceof ApiError ? funnelError.fieldMessages() : {};
  const dateFields = view.period === "custom" ? ["from", "to"] : undefined;

  return (
    <div id="reports-page" class="reports-page">
      <div class="toolbar">
        <h1>{t("reports_title")}</h1>
        <span class="spacer" />
        <div class="report-actions">
          <button type="button" class="secondary small" id="report-refresh" onClick={() => setVersion((x) => x + 1)}>
            {t("rep_refresh")}
          </button>
          <button type="button" class="secondary small" id="report-print" onClick={() => window.print()}>
            {t("rep_print")}
          </button>
        </div>
      </div>
      <form class="filters report-controls" id="report-controls" onSubmit={(e) => e.preventDefault()}>
        <SelectField label={t("rep_funnel_pick")} name="funnel_id" value={shownFunnel}
          onValue={(v) => change({ funnel_id: v })}
          options={funnels.length ? funnels.map((f) => ({ value: f.id, label: f.name })) : [{ value: shownFunnel, label: "—" }]} />
        <SelectField label={t("rep_period")} name="period" value={view.period}
          onValue={(v) => change(v === "custom" ? { period: "custom", from, to } : { period: v as Period })}
          options={PERIODS.map((p) => ({ value: p, label: t(`rep_${p}` as TextKey) }))} />
        {view.period === "custom" && (
          <>
            <TextField label={t("rep_from")} name="from" type="date" value={view.from} error={fe.from}
              onValue={(v) => change({ from: v })} />
            <TextField label={t("rep_to")} name="to" type="date" value={view.to} error={fe.to}
              onValue={(v) => change({ to: v })} />
          </>
        )}
        {everyone ? (
          <SelectField label={t("responsible")} name="responsible_id" value={view.responsible_id}
            onValue={(v) => change({ responsible_id: v })}
            options={[{ value: "", label: t("all") }, ...users.map((u) => ({ value: u.id, label: fullName(u) }))]} />
        ) : (
          <p class="muted own-only" id="report-own-only">{t("rep_own_only")}</p>
        )}
      </form>

      <div class="report-grid">
        <section class="panel report-panel" id="funnel-report" aria-labelledby="funnel-report-title">
          <div class="panel-head">
            <h2 id="funnel-report-title">{t("rep_funnel")}</h2>
            <CsvButton id="funnel-csv" label="rep_download_funnel" name={`funnel_${stamp}.csv`}
              path={`/api/v1/reports/funnel.csv${funnelQuery}`} />
          </div>
          <div id="funnel-error"><ErrorBox error={funnelError} shown={dateFields} /></div>
          {!funnel && !funnelError && <p class="muted">{t("loading")}</p>}
          {funnel && (
            <>
              <p class="muted period-shown" id="report-period">
                {t("rep_period_shown", { from: day(funnel.from), to: day(funnel.to), tz: funnel.time_zone })}
              </p>
              <Summary r={funnel} />
              {empty ? (
                <p class="empty-state" id="report-empty">{t("rep_empty")}</p>
              ) : (
                <>
                  <FunnelChart stages={funnel.stages} title={t("rep_funnel")} />
                  <p class="muted chart-hint">{t("rep_funnel_hint")}</p>
                </>
              )}
            </>
          )}
        </section>

        <section class="panel report-panel" id="trend-report" aria-labelledby="trend-report-title">
          <div class="panel-head">
            <h2 id="trend-report-title">{t("rep_trend")}</h2>
          </div>
          {!funnel && !funnelError && <p class="muted">{t("loading")}</p>}
          {funnel && (empty || !funnel.weeks.length
            ? <p class="empty-state" id="trend-empty">{t("rep_empty")}</p>
            : <TrendChart weeks={funnel.weeks} title={t("rep_trend")} />)}
        </section>
      </div>

      <section class="panel report-panel" id="team-report" aria-labelledby="team-report-title">
        <div class="panel-head">
          <h2 id="team-report-title">{t("rep_team")}</h2>
          <CsvButton id="team-csv" label="rep_download_team" name={`team_${stamp}.csv`}
            path={`/api/v1/reports/team.csv${teamQuery}`} />
        </div>
        <div id="team-error"><ErrorBox error={teamError} /></div>
        {!team && !teamError && <p class="muted">{t("loading")}</p>}
        {team && (team.items.length ? (
          <>
            <p class="muted chart-hint">{t("rep_sort_hint")}</p>
            <TeamTable rows={team.items} sort={view.sort} dir={view.dir} onSort={(sort, dir) => change({ sort, dir })} />
          </>
        ) : <p class="empty-state" id="team-empty">{t("rep_team_empty")}</p>)}
      </section>
    </div>
  );
}
