// Deals and clients: the board (drag to another stage), the tables (filters incl. Deleted, bulk
// responsible change with the cascade checkbox) and the record form the cards use (card.tsx).
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, patch, post, qs } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { can, useMe } from "../session";
import { ErrorBox, Link, Modal, money, SelectField, TextField, useBusy } from "../ui";
import { AUTO_TYPES, FieldInput, PhoneInput, stageOf, stageOptions, type Phone, type Refs, useRefs,
  userName, userOptions } from "./common";
import { ClientPicker } from "./client_picker";
import type { Funnel } from "./funnel";

type Entity = "deal" | "client";

export interface Deal {
  id: string;
  title: string;
  amount: string;
  client_id: string | null;
  funnel_id: string;
  stage_id: string;
  responsible_id: string;
  fields: Record<string, any>;
  deleted: boolean;
}

export interface Client {
  id: string;
  name: string;
  phone: (Phone & { e164: string }) | null;
  email: string;
  funnel_id: string;
  stage_id: string;
  responsible_id: string;
  fields: Record<string, any>;
  deleted: boolean;
}

interface Rules {
  required: string[];
  one_time: string[];
  autodate: string[];
  autonumber: string[];
}

const empty = (v: any) => v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length);

// ---- the record form (new or existing; deal or client) -------------------------------------------
export function RecordForm(props: {
  entity: Entity;
  record: Deal | Client | null;
  refs: Refs;
  targetStage?: string;
  missing?: string[];
  onSaved: (r: any) => void;
  onCancel?: () => void;
}) {
  const me = useMe();
  const { entity, record, refs } = props;
  const isDeal = entity === "deal";
  const firstStage = stageOptions(refs, entity)[0]?.value ?? "";
  const [form, setForm] = useState<Record<string, any>>(() => {
    const r: any = record ?? {};
    return isDeal
      ? { title: r.title ?? "", amount: r.amount ?? "", client_id: r.client_id ?? "", stage_id: props.targetStage ?? r.stage_id ?? firstStage,
          responsible_id: r.responsible_id ?? me.user.id, fields: { ...(r.fields ?? {}) } }
      : { name: r.name ?? "", phone: r.phone ? { country: r.phone.country, number: r.phone.number } : null,
          email: r.email ?? "", stage_id: props.targetStage ?? r.stage_id ?? firstStage, responsible_id: r.responsible_id ?? me.user.id,
          fields: { ...(r.fields ?? {}) } };
  });
  const [rules, setRules] = useState<Rules>({ required: [], one_time: [], autodate: [], autonumber: [] });
  const [missing, setMissing] = useState<string[]>(props.missing ?? []);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  useEffect(() => {
    if (form.stage_id) get<Rules>(`/api/v1/stages/${form.stage_id}/rules`).then(setRules, () => undefined);
  }, [form.stage_id]);
  const defs = refs.fields.filter((f) => f.entity === entity);
  const original: any = record ?? {};
  const valueOf = (key: string) => (key in form ? form[key] : form.fields[key]);
  const origOf = (key: string) => (key in original ? original[key] : original.fields?.[key]);
  const readOnly = (key: string) => {
    const def = defs.find((d) => d.key === key);
    if (def && AUTO_TYPES.includes(def.type)) return true;
    if (rules.autodate.includes(key) || rules.autonumber.includes(key)) return true;
    return !!record && rules.one_time.includes(key) && !empty(origOf(key));
  };
  const highlight = (key: string) => missing.includes(key) || (rules.required.includes(key) && empty(valueOf(key)));
  const set = (key: string) => (v: any) => setForm({ ...form, [key]: v });
  const setField = (key: string) => (v: any) => setForm({ ...form, fields: { ...form.fields, [key]: v } });

  const submit = (e: Event) => {
    e.preventDefault();
    run(() => send());
  };
  const send = async () => {
    setError(null);
    const body: Record<string, any> = {};
    const builtins = isDeal ? ["title", "amount", "client_id", "stage_id", "responsible_id"]
      : ["name", "phone", "email", "stage_id", "responsible_id"];
    for (const k of builtins) {
      let v = form[k];
      if (k === "phone") v = v && v.number ? v : null;
      if (record && JSON.stringify(v ?? null) === JSON.stringify(k === "phone" ? (original.phone ? { country: original.phone.country, number: original.phone.number } : null) : (original[k] ?? (k === "client_id" ? "" : null)))) continue;
      if (!record && (v === "" || v === null) && k !== "title" && k !== "name") continue;
      if (k === "amount" && v === "") v = null;
      if (k === "phone" && v === null && !record) continue;
      body[k] = v;
    }
    const fields: Record<string, any> = {};
    for (const d of defs) {
      if (readOnly(d.key)) continue;
      const v = form.fields[d.key];
      if (JSON.stringify(v ?? null) !== JSON.stringify(original.fields?.[d.key] ?? null)) fields[d.key] = v ?? null;
    }
    if (Object.keys(fields).length) body.fields = fields;
    try {
      const path = isDeal ? "/api/v1/deals" : "/api/v1/clients";
      const saved = record ? await patch(`${path}/${record.id}`, body) : await post(path, body);
      setMissing([]);
      props.onSaved(saved);
    } catch (err) {
      const apiErr = err as ApiError;
      if (apiErr.code === "required_fields_missing") setMissing(apiErr.details.keys ?? []);
      setError(apiErr);
    }
  };
  const fe = error?.fieldMessages?.() ?? {};
  const stageName = stageOf(refs, form.stage_id)?.name ?? "";
  return (
    <form onSubmit={submit} class="record-form" id={`${entity}-form`} noValidate>
      {missing.length > 0 && <div class="alert error" id="required-missing">{t("required_missing", { name: stageName })}</div>}
      {error?.code !== "required_fields_missing" && (
        <ErrorBox error={error} shown={[...(isDeal ? ["title", "amount", "client_id"] : ["name", "phone", "number", "country", "email"]),
          "stage_id", "responsible_id", ...defs.map((d) => `fields.${d.key}`)]} />
      )}
      {isDeal ? (
        <>
          <TextField label={t("title")} name="title" value={form.title} onValue={set("title")} error={fe.title}
            highlight={highlight("title")} readOnly={readOnly("title")} />
          <TextField label={`${t("amount")}, ${t("sum")}`} name="amount" inputMode="decimal" value={String(form.amount ?? "")}
            onValue={set("amount")} error={fe.amount} highlight={highlight("amount")} readOnly={readOnly("amount")} />
          <ClientPicker label={t("client")} value={form.client_id ?? ""} onValue={set("client_id")}
            error={fe.client_id} highlight={highlight("client_id")} disabled={readOnly("client_id")} />
        </>
      ) : (
        <>
          <TextField label={t("name")} name="name" value={form.name} onValue={set("name")} error={fe.name}
            highlight={highlight("name")} readOnly={readOnly("name")} />
          <PhoneInput countries={refs.countries} value={form.phone} onValue={set("phone")}
            error={fe.phone || fe["phone.number"] || fe.number || fe["phone.country"]} highlight={highlight("phone")}
            disabled={(!!record && !can(me, "edit_phone")) || readOnly("phone")} />
          <TextField label={t("email")} name="email" type="email" value={form.email} onValue={set("email")} error={fe.email}
            highlight={highlight("email")} readOnly={readOnly("email")} />
        </>
      )}
      <SelectField label={t("stage")} name="stage_id" value={form.stage_id} onValue={set("stage_id")} error={fe.stage_id}
        options={stageOptions(refs, entity)} />
      <SelectField label={t("responsible")} name="responsible_id" value={form.responsible_id} onValue={set("responsible_id")}
        error={fe.responsible_id} options={userOptions(refs)} highlight={highlight("responsible_id")} />
      {defs.map((d) => (
        <FieldInput key={d.key} def={d} value={form.fields[d.key]} onValue={setField(d.key)} readOnly={readOnly(d.key)}
          error={fe[`fields.${d.key}`] || fe[d.key]} highlight={highlight(d.key)} />
      ))}
      <div class="actions">
        {props.onCancel && <button type="button" class="secondary" onClick={props.onCancel}>{t("cancel")}</button>}
        <button type="submit" class="primary" disabled={busy} id={`${entity}-save`}>{record ? t("save") : t("create")}</button>
      </div>
    </form>
  );
}

/** The FAQ's «Удалённые» filter, on the board and on the tables. */
function DeletedToggle(props: { name: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <label class="check">
      <input type="checkbox" name={props.name} checked={props.checked}
        onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} />
      {t("show_deleted")}
    </label>
  );
}

// ---- the board ---------------------------------------------------------------------------------
interface Column {
  stage: { id: string; name: string; color: string; group_key: string };
  count: number;
  sum: string;
  deals: Deal[];
  next_cursor: string | null;
}

const PER_COLUMN = 20;

export function BoardPage() {
  const refs = useRefs();
  const [funnelId, setFunnelId] = useState("");
  const [columns, setColumns] = useState<Column[]>([]);
  // «Удалённые» (FAQ: "Сделки" → the filter "Удалённые"): each column shows its stage's deleted deals
  const [filters, setFilters] = useState({ q: "", responsible_id: "", deleted: false });
  const [filtered, setFiltered] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<{ deal: Deal | null; stage?: string; missing?: string[] } | null>(null);
  const [over, setOver] = useState("");
  const asked = useRef(0);
  const funnels = (refs?.funnels ?? []).filter((f) => f.entity === "deal");
  const current = funnelId || funnels[0]?.id || "";
  // a column's deals as the list gives them (its default order, newest first, is the board's)
  type Page = { items: Deal[]; next_cursor: string | null };
  const columnPage = (stageId: string, cursor?: string | null) => get<Page>(`/api/v1/deals${qs({
    stage_id: stageId, q: filters.q.trim(), responsible_id: filters.responsible_id, deleted: filters.deleted || undefined,
    limit: PER_COLUMN, cursor })}`);
  const load = async () => {
    if (!current) return;
    const mine = ++asked.current;
    const narrowed = !!(filters.q.trim() || filters.responsible_id || filters.deleted);
    try {
      const b = await get<{ columns: Column[] }>(`/api/v1/board${qs({ funnel_id: current, per_stage: PER_COLUMN })}`);
      let cols = b.columns;
      if (narrowed) {
        // the board's counts are the stages' own: a narrowed board takes each column from the list
        cols = await Promise.all(cols.map((c) => columnPage(c.stage.id).then((p) => ({ ...c, deals: p.items,
          next_cursor: p.next_cursor }))));
      }
      if (mine !== asked.current) return;
      setFiltered(narrowed);
      setColumns(cols);
    } catch (e) {
      if (mine === asked.current) setError(e);
    }
  };
  useEffect(() => { // typing waits for a pause; the funnel and the responsible load at once
    const timer = setTimeout(load, filters.q ? 250 : 0);
    return () => clearTimeout(timer);
  }, [current, filters.q, filters.responsible_id, filters.deleted]);
  const [moreBusy, runMore] = useBusy();
  const more = (c: Column) => runMore(() => columnPage(c.stage.id, c.next_cursor).then((p) => setColumns((cur) =>
    cur.map((x) => x.stage.id !== c.stage.id ? x : { ...x, next_cursor: p.next_cursor,
      deals: [...x.deals, ...p.items.filter((d) => !x.deals.some((y) => y.id === d.id))] })), setError));

  const drop = async (stageId: string, dealId: string) => {
    setOver("");
    const deal = columns.flatMap((c) => c.deals).find((d) => d.id === dealId);
    if (!deal || deal.stage_id === stageId) return;
    setError(null);
    try {
      await patch(`/api/v1/deals/${deal.id}`, { stage_id: stageId });
      load();
    } catch (e) {
      const err = e as ApiError;
      if (err.code === "required_fields_missing") setEditing({ deal, stage: stageId, missing: err.details.keys ?? [] });
      else setError(err);
    }
  };
  if (!refs) return <p class="muted">{t("loading")}</p>;
  return (
    <div id="board-page">
      <div class="toolbar">
        <h1>{t("deals")}</h1>
        <span class="spacer" />
        <div class="filters" id="board-filters">
          <TextField label={t("board_search")} name="board_q" type="search" value={filters.q}
            onValue={(v) => setFilters({ ...filters, q: v })} />
          <SelectField label={t("responsible")} name="board_responsible" value={filters.responsible_id}
            onValue={(v) => setFilters({ ...filters, responsible_id: v })} options={userOptions(refs, true)} />
          <DeletedToggle name="board_deleted" checked={filters.deleted}
            onChange={(deleted) => setFilters({ ...filters, deleted })} />
        </div>
        {funnels.length > 1 && (
          <select value={current} aria-label={t("settings_funnel")}
            onChange={(e) => setFunnelId((e.target as HTMLSelectElement).value)}>
            {funnels.map((f: Funnel) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </select>
        )}
        <button type="button" class="primary" id="add-deal" onClick={() => setEditing({ deal: null })}>{t("add_deal")}</button>
      </div>
      <ErrorBox error={error} />
      <div class="board" id="board">
        {columns.map((c) => (
          <div key={c.stage.id} class={`column${over === c.stage.id ? " over" : ""}`} data-stage={c.stage.name}
            data-stage-id={c.stage.id}
            onDragOver={(e) => { e.preventDefault(); setOver(c.stage.id); }}
            onDragLeave={() => setOver("")}
            onDrop={(e) => { e.preventDefault(); drop(c.stage.id, e.dataTransfer?.getData("text/plain") ?? ""); }}>
            <div class="column-head" style={{ borderTopColor: c.stage.color }}>
              <strong>{c.stage.name}</strong>
              <div class="meta">{filtered ? t("shown_of", { n: c.deals.length + (c.next_cursor ? "+" : "") })
                : `${c.count} · ${money(c.sum)} ${t("sum")}`}</div>
            </div>
            {c.deals.map((d) => (
              <div key={d.id} class={`card${d.deleted ? " deleted" : ""}`} draggable={!d.deleted} data-deal={d.title}
                data-deal-id={d.id}
                onDragStart={(e) => e.dataTransfer?.setData("text/plain", d.id)}
                onClick={(e) => !(e.target as HTMLElement).closest("a") && navigate(`/deals/${d.id}`)}>
                <Link href={`/deals/${d.id}`} class="title">{d.title}</Link>
                {d.deleted && <span class="badge">{t("deleted_badge")}</span>}
                <span class="sub">{money(d.amount)} {t("sum")}</span>
                <span class="sub">{userName(refs, d.responsible_id)}</span>
              </div>
            ))}
            {c.next_cursor && (
              <button type="button" class="secondary small column-more" data-more-stage={c.stage.id} disabled={moreBusy}
                onClick={() => more(c)}>{t("load_more")}</button>
            )}
          </div>
        ))}
      </div>
      {editing && (
        <Modal title={editing.deal ? editing.deal.title : t("add_deal")} onClose={() => setEditing(null)} id="deal-dialog" wide>
          <RecordForm entity="deal" record={editing.deal} refs={refs} targetStage={editing.stage} missing={editing.missing}
            onCancel={() => setEditing(null)} onSaved={() => { setEditing(null); load(); }} />
        </Modal>
      )}
    </div>
  );
}

// ---- the tables --------------------------------------------------------------------------------
export function RecordsTable({ entity }: { entity: Entity }) {
  const refs = useRefs();
  const isDeal = entity === "deal";
  const [filters, setFilters] = useState({ q: "", stage_id: "", responsible_id: "", deleted: false });
  const [items, setItems] = useState<Array<Deal | Client>>([]);
  const [selected, setSelected] = useState<string[]>([]);
  const [bulk, setBulk] = useState({ responsible_id: "", cascade: false });
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const path = isDeal ? "/api/v1/deals" : "/api/v1/clients";
  const [cursor, setCursor] = useState<string | null>(null);
  const query = (more?: string) => path + qs({ ...filters, deleted: filters.deleted || undefined, limit: 100, cursor: more });
  type Page = { items: Array<Deal | Client>; next_cursor: string | null };
  const load = () => get<Page>(query())
    .then((r) => {
      setItems(r.items);
      setCursor(r.next_cursor);
      setSelected((s) => s.filter((id) => r.items.some((x) => x.id === id)));
    }, setError);
  const loadMore = () => cursor && get<Page>(query(cursor)).then((r) => {
    setItems((cur) => [...cur, ...r.items]);
    setCursor(r.next_cursor);
  }, setError);
  useEffect(() => {
    const timer = setTimeout(load, 200);
    return () => clearTimeout(timer);
  }, [filters.q, filters.stage_id, filters.responsible_id, filters.deleted]);

  const [changing, run] = useBusy();
  const change = () => run(async () => {
    setError(null);
    try {
      const r = await post<{ deals: number; clients: number; tasks: number }>(`${path}/responsible`,
        { ids: selected, responsible_id: bulk.responsible_id, cascade: bulk.cascade });
      setNotice(`${t("deals")}: ${r.deals} · ${t("clients")}: ${r.clients}`);
      setSelected([]);
      load();
    } catch (e) {
      setError(e);
    }
  });
  if (!refs) return <p class="muted">{t("loading")}</p>;
  const all = items.length > 0 && selected.length === items.length;
  return (
    <div id={`${entity}s-page`}>
      <div class="toolbar">
        <h1>{isDeal ? t("nav_deals") : t("clients")}</h1>
        <span class="spacer" />
        <button type="button" class="primary" id={`add-${entity}`} onClick={() => setCreating(true)}>
          {isDeal ? t("add_deal") : t("add_client")}
        </button>
      </div>
      <div class="filters" id="filters">
        <TextField label={t("search")} name="q" value={filters.q} onValue={(v) => setFilters({ ...filters, q: v })} />
        <SelectField label={t("stage")} name="stage_id" value={filters.stage_id} onValue={(v) => setFilters({ ...filters, stage_id: v })}
          options={[{ value: "", label: t("all") }, ...stageOptions(refs, entity)]} />
        <SelectField label={t("responsible")} name="responsible_id" value={filters.responsible_id}
          onValue={(v) => setFilters({ ...filters, responsible_id: v })} options={userOptions(refs, true)} />
        <DeletedToggle name="deleted" checked={filters.deleted} onChange={(deleted) => setFilters({ ...filters, deleted })} />
      </div>
      <ErrorBox error={error} />
      {notice && <div class="alert success" id="notice">{notice}</div>}
      {selected.length > 0 && (
        <div class="inline-form" id="bulk-bar">
          <strong>{t("selected", { n: selected.length })}</strong>
          <SelectField label={t("change_responsible")} name="bulk_responsible" value={bulk.responsible_id}
            onValue={(v) => setBulk({ ...bulk, responsible_id: v })} options={[{ value: "", label: "—" }, ...userOptions(refs)]} />
          <label class="check">
            <input type="checkbox" name="cascade" checked={bulk.cascade}
              onChange={(e) => setBulk({ ...bulk, cascade: (e.target as HTMLInputElement).checked })} />
            {isDeal ? t("cascade_deals") : t("cascade_clients")}
          </label>
          <button type="button" class="primary" id="bulk-change" disabled={!bulk.responsible_id || changing} onClick={change}>{t("change")}</button>
        </div>
      )}
      <div class="table-wrap">
      <table class="table" id={`${entity}s-table`}>
        <thead>
          <tr>
            <th><input type="checkbox" checked={all} aria-label={t("select_all")}
              onChange={() => setSelected(all ? [] : items.map((x) => x.id))} /></th>
            <th>{isDeal ? t("title") : t("name")}</th>
            <th>{isDeal ? t("amount") : t("phone")}</th>
            <th>{t("stage")}</th>
            <th>{t("responsible")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((x) => {
            const d = x as Deal;
            const c = x as Client;
            return (
              <tr key={x.id} class={`clickable${x.deleted ? " deleted" : ""}`} data-id={x.id} data-name={isDeal ? d.title : c.name}>
                <td onClick={(e) => e.stopPropagation()}>
                  <input type="checkbox" name="select" checked={selected.includes(x.id)}
                    aria-label={t("select_row", { name: isDeal ? d.title : c.name })}
                    onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? [...selected, x.id]
                      : selected.filter((id) => id !== x.id))} />
                </td>
                <td onClick={() => navigate(`/${entity}s/${x.id}`)}>
                  <Link href={`/${entity}s/${x.id}`}>{isDeal ? d.title : c.name}</Link>
                  {x.deleted && <span class="badge">{t(isDeal ? "deleted_badge" : "deleted_client_badge")}</span>}
                </td>
                <td>{isDeal ? `${money(d.amount)} ${t("sum")}` : c.phone?.e164 ?? ""}</td>
                <td>{stageOf(refs, x.stage_id)?.name ?? ""}</td>
                <td class="responsible">{userName(refs, x.responsible_id)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      </div>
      {!items.length && <p class="muted">{t("no_items")}</p>}
      {cursor && <p><button type="button" class="secondary" id="load-more" onClick={loadMore}>{t("load_more")}</button></p>}
      {creating && (
        <Modal title={isDeal ? t("add_deal") : t("add_client")} onClose={() => setCreating(false)} id={`${entity}-dialog`} wide>
          <RecordForm entity={entity} record={null} refs={refs} onCancel={() => setCreating(false)}
            onSaved={(r) => { setCreating(false); navigate(`/${entity}s/${r.id}`); }} />
        </Modal>
      )}
    </div>
  );
}
