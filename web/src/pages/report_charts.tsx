// The reports page's charts, inline SVG: the funnel (one bar per stage, its length by the deals that entered
// the stage) and the won/lost trend by week. The SVG's viewBox follows its box's width (so its text keeps its
// size from a phone to a wide screen) and its width is 100% (so it never sticks out while it re-measures).
// Also the CSV download button (a fetch with the bearer token, saved through a Blob).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, refresh, tokens } from "../api";
import { lang, locale, t, type TextKey } from "../i18n";
import { ErrorBox, useBusy } from "../ui";

export interface StageRow {
  stage_id: string;
  name: string;
  color: string;
  group: "unprocessed" | "in_progress" | "failed" | "successful";
  entered: number;
  still_here: number;
  moved_on: number;
  conversion_to_won: number | null;
}

export interface Week {
  week_start: string;
  won: number;
  lost: number;
  won_amount: string;
  won_amount_tiyin: number;
}

export const WON_COLOR = "#1f9d55";
export const LOST_COLOR = "#d93b3b";
const TEXT = "#1d2433";
const MUTED = "#5a6275";
const TRACK = "#eef1f7";
const GRID = "#dfe3ec";

/** A share 0..1 as a percent in the UI's language ("—" for none). */
export function percent(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return v.toLocaleString(locale(), { style: "percent", maximumFractionDigits: 0 });
}

/** A YYYY-MM-DD date (a calendar day, no time zone) in the UI's language; `short`: without the year. Uzbek
 * is written 04.12.2026 (browsers' uz-UZ data often lacks the month names and gives "2026 M12 4"). */
export function day(iso: string, short = false): string {
  const d = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return iso;
  if (lang() === "uz") {
    const [y, m, dd] = iso.split("-");
    return short ? `${dd}.${m}` : `${dd}.${m}.${y}`;
  }
  const opts: Intl.DateTimeFormatOptions = short ? { day: "numeric", month: "short" } : { dateStyle: "medium" };
  return d.toLocaleDateString(locale(), { ...opts, timeZone: "UTC" });
}

/** The width of an element in CSS pixels, kept up to date (`fallback` before the first measure). */
function useWidth(fallback: number): [(el: HTMLDivElement | null) => void, number] {
  const [width, setWidth] = useState(fallback);
  const node = useRef<HTMLDivElement | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  useEffect(() => () => observer.current?.disconnect(), []);
  const ref = (el: HTMLDivElement | null) => {
    if (el === node.current) return;
    observer.current?.disconnect();
    node.current = el;
    if (!el) return;
    const measure = () => {
      const w = Math.floor(el.clientWidth);
      if (w > 0) setWidth((cur) => (Math.abs(cur - w) >= 1 ? w : cur));
    };
    measure();
    if (typeof ResizeObserver !== "undefined") {
      observer.current = new ResizeObserver(measure);
      observer.current.observe(el);
    }
  };
  return [ref, width];
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

const ROW = 46;

export function FunnelChart({ stages, title }: { stages: StageRow[]; title: string }) {
  const [ref, measured] = useWidth(480);
  const w = Math.max(240, measured);
  const max = Math.max(1, ...stages.map((s) => s.entered));
  const height = stages.length * ROW + 2;
  const described = (s: StageRow) => t("rep_stage_aria", { name: s.name, entered: s.entered, still: s.still_here,
    moved: s.moved_on, conv: percent(s.conversion_to_won) });
  const label = `${title}: ${stages.map(described).join("; ")}`;
  return (
    <div class="chart-box" ref={ref}>
      <svg id="funnel-chart" class="chart" viewBox={`0 0 ${w} ${height}`} width="100%" height={height}
        preserveAspectRatio="xMinYMin meet" role="img" aria-label={label} focusable="false">
        <title>{label}</title>
        {stages.map((s, i) => {
          const top = i * ROW;
          const figures = `${s.entered.toLocaleString(locale())} · ${percent(s.conversion_to_won)}`;
          const room = Math.floor((w - figures.length * 8 - 16) / 7.4);
          const bar = s.entered > 0 ? Math.max(3, (s.entered / max) * w) : 0;
          return (
            <g key={s.stage_id} class="funnel-stage" data-stage={s.name} data-stage-id={s.stage_id}
              data-group={s.group} data-entered={s.entered} data-conversion={s.conversion_to_won ?? ""}>
              <title>{described(s)}</title>
              <text x={0} y={top + 15} font-size="13" fill={TEXT} class="stage-name">{clip(s.name, room)}</text>
              <text x={w} y={top + 15} font-size="13" fill={TEXT} text-anchor="end" font-weight="600"
                class="stage-figures">{figures}</text>
              <rect x={0} y={top + 22} width={w} height={16} rx={3} fill={TRACK} />
              {bar > 0 && <rect x={0} y={top + 22} width={bar} height={16} rx={3} fill={s.color || MUTED}
                stroke="rgba(0,0,0,.18)" stroke-width="1" class="stage-bar" />}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** Up to about `target` round ticks from 0 to at least `max` (integers: counts of deals). */
function ticks(max: number, target = 4): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? pow * 10);
  const out: number[] = [];
  for (let v = 0; v < max + step; v += step) out.push(v);
  return out;
}

export function TrendChart({ weeks, title }: { weeks: Week[]; title: string }) {
  const [ref, measured] = useWidth(480);
  const w = Math.max(240, measured);
  const h = 200;
  const left = 34;
  const right = 6;
  const top = 16;
  const bottom = 26;
  const marks = ticks(Math.max(0, ...weeks.map((x) => Math.max(x.won, x.lost))));
  const top_value = marks[marks.length - 1];
  const plotW = w - left - right;
  const plotH = h - top - bottom;
  const y = (v: number) => top + plotH - (v / top_value) * plotH;
  const slot = plotW / Math.max(1, weeks.length);
  const bw = Math.max(2, Math.min(22, slot * 0.36));
  const every = Math.max(1, Math.ceil(weeks.length / Math.max(1, Math.floor(plotW / 62))));
  const values = slot >= 26;
  const described = (x: Week) => t("rep_week_aria", { date: day(x.week_start), won: x.won, lost: x.lost });
  const label = `${title}: ${weeks.map(described).join("; ")}`;
  return (
    <div class="chart-box" ref={ref}>
      <svg id="trend-chart" class="chart" viewBox={`0 0 ${w} ${h}`} width="100%" height={h}
        preserveAspectRatio="xMinYMin meet" role="img" aria-label={label} focusable="false">
        <title>{label}</title>
        {marks.map((m) => (
          <g key={m}>
            <line x1={left} x2={w - right} y1={y(m)} y2={y(m)} stroke={GRID} stroke-width="1" />
            <text x={left - 6} y={y(m) + 4} font-size="11" fill={MUTED} text-anchor="end">{m.toLocaleString(locale())}</text>
          </g>
        ))}
        {weeks.map((x, i) => {
          const mid = left + slot * i + slot / 2;
          return (
            <g key={x.week_start} class="trend-week" data-week={x.week_start} data-won={x.won} data-lost={x.lost}>
              <title>{described(x)}</title>
              <rect x={mid - bw - 1} y={y(x.won)} width={bw} height={Math.max(0, y(0) - y(x.won))} fill={WON_COLOR}
                class="bar-won" />
              <rect x={mid + 1} y={y(x.lost)} width={bw} height={Math.max(0, y(0) - y(x.lost))} fill={LOST_COLOR}
                class="bar-lost" />
              {values && x.won > 0 && <text x={mid - bw / 2 - 1} y={y(x.won) - 3} font-size="10" fill={TEXT}
                text-anchor="middle">{x.won}</text>}
              {values && x.lost > 0 && <text x={mid + bw / 2 + 1} y={y(x.lost) - 3} font-size="10" fill={TEXT}
                text-anchor="middle">{x.lost}</text>}
              {i % every === 0 && <text x={mid} y={h - 8} font-size="11" fill={MUTED} text-anchor="middle">
                {day(x.week_start, true)}</text>}
            </g>
          );
        })}
        <line x1={left} x2={w - right} y1={y(0)} y2={y(0)} stroke={MUTED} stroke-width="1" />
      </svg>
      <ul class="legend">
        <li><span class="key won" />{t("rep_won")}</li>
        <li><span class="key lost" />{t("rep_lost")}</li>
      </ul>
    </div>
  );
}

/** Download a CSV answer of the API with the session's bearer token (a plain link would not send it). */
async function downloadCsv(path: string, fallbackName: string): Promise<void> {
  const send = () => {
    const headers: Record<string, string> = { Accept: "text/csv", "Accept-Language": lang() };
    const auth = tokens();
    if (auth) headers.Authorization = `Bearer ${auth.access_token}`;
    return fetch(path, { headers });
  };
  let resp: Response;
  try {
    resp = await send();
    if (resp.status === 401 && (await refresh())) resp = await send();
  } catch {
    throw new ApiError(0, "network", t("network_error"), {});
  }
  if (!resp.ok) {
    let err: any = {};
    try {
      err = (await resp.json())?.error ?? {};
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, err.code ?? `http_${resp.status}`, err.message ?? t("network_error"), err.details ?? {});
  }
  const disposition = resp.headers.get("Content-Disposition") ?? "";
  const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = named ? decodeURIComponent(named[1]) : fallbackName;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function CsvButton({ id, label, path, name }: { id: string; label: TextKey; path: string; name: string }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, run] = useBusy();
  const click = () => run(async () => {
    setError(null);
    try {
      await downloadCsv(path, name);
    } catch (e) {
      setError(e);
    }
  });
  return (
    <>
      <button type="button" class="secondary small" id={id} disabled={busy} onClick={click}>{t(label)}</button>
      {error ? <div class="csv-error"><ErrorBox error={error} /></div> : null}
    </>
  );
}
