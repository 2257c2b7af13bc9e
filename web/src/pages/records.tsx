// Deals and clients: the board (drag to another stage), the tables (filters incl. Deleted, bulk
// responsible change with the cascade checkbox), the cards (rules-aware forms, tasks, history, restore).
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post, qs } from "../api";
import { t, type TextKey } from "../i18n";
import { navigate } from "../router";
import { can, useMe } from "../session";
import { CopyButton, dateTime, ErrorBox, Link, Modal, money, SelectField, TextField } from "../ui";
import { AUTO_TYPES, FieldInput, loadRefs, PhoneInput, stageOf, stageOptions, type Phone, type Refs, useRefs,
  userName, userOptions } from "./common";
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

export interface Task {
  id: string;
  type: string;
  comment: string;
  due_at: string;
  responsible_id: string;
  deal_id: string | null;
  client_id: string | null;
  done: boolean;
  process_id: string | null;
}

interface HistoryItem {
  id: string;
  at: string;
  actor_id: string;
  source: string;
  action: string;
  changes: Array<{ field: string; old: any; new: any }>;
}

const empty = (v: any) => v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length);

// ---- the record form (new or existing; deal or client) -------------------------------------------
function RecordForm(props: {
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
  const [clients, setClients] = useState<Client[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (form.stage_id) get<Rules>(`/api/v1/stages/${form.stage_id}/rules`).then(setRules, () => undefined);
  }, [form.stage_id]);
  useEffect(() => {
    if (isDeal) get<{ items: Client[] }>("/api/v1/clients?limit=200").then((r) => setClients(r.items), () => undefined);
  }, []);
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

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
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
    } finally {
      setBusy(false);
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
          <SelectField label={t("client")} name="client_id" value={form.client_id ?? ""} onValue={set("client_id")}
            error={fe.client_id} highlight={highlight("client_id")} disabled={readOnly("client_id")}
            options={[{ value: "", label: "—" }, ...clients.map((c) => ({ value: c.id, label: c.name }))]} />
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

// ---- the board ---------------------------------------------------------------------------------
interface Column {
  stage: { id: string; name: string; color: string; group_key: string };
  count: number;
  sum: string;
  deals: Deal[];
}

export function BoardPage() {
  const refs = useRefs();
  const [funnelId, setFunnelId] = useState("");
  const [columns, setColumns] = useState<Column[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<{ deal: Deal | null; stage?: string; missing?: string[] } | null>(null);
  const [over, setOver] = useState("");
  const funnels = (refs?.funnels ?? []).filter((f) => f.entity === "deal");
  const current = funnelId || funnels[0]?.id || "";
  const load = () => current && get<{ columns: Column[] }>(`/api/v1/board${qs({ funnel_id: current })}`).then(
    (b) => setColumns(b.columns), setError);
  useEffect(() => {
    load();
  }, [current]);

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
        {funnels.length > 1 && (
          <select value={current} onChange={(e) => setFunnelId((e.target as HTMLSelectElement).value)}>
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
              <div class="meta">{c.count} · {money(c.sum)} {t("sum")}</div>
            </div>
            {c.deals.map((d) => (
              <div key={d.id} class="card" draggable data-deal={d.title} data-deal-id={d.id}
                onDragStart={(e) => e.dataTransfer?.setData("text/plain", d.id)}
                onClick={() => navigate(`/deals/${d.id}`)}>
                <span class="title">{d.title}</span>
                <span class="sub">{money(d.amount)} {t("sum")}</span>
                <span class="sub">{userName(refs, d.responsible_id)}</span>
              </div>
            ))}
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

  const change = async () => {
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
  };
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
        <label class="check">
          <input type="checkbox" name="deleted" checked={filters.deleted}
            onChange={(e) => setFilters({ ...filters, deleted: (e.target as HTMLInputElement).checked })} />
          {t("show_deleted")}
        </label>
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
          <button type="button" class="primary" id="bulk-change" disabled={!bulk.responsible_id} onClick={change}>{t("change")}</button>
        </div>
      )}
      <table class="table" id={`${entity}s-table`}>
        <thead>
          <tr>
            <th><input type="checkbox" checked={all} aria-label="all"
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

// ---- the cards ---------------------------------------------------------------------------------
export function RecordCard({ entity, id }: { entity: Entity; id: string }) {
  const me = useMe();
  const [refs, setRefs] = useState<Refs | null>(null);
  const [record, setRecord] = useState<any>(null);
  const [history, setHistory] = useState<HistoryItem[]>([]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [deals, setDeals] = useState<Deal[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const isDeal = entity === "deal";
  const path = `/api/v1/${entity}s/${id}`;
  const load = async () => {
    try {
      const [r, rec, h, tk, ds] = await Promise.all([
        loadRefs(), get(path), get<{ items: HistoryItem[] }>(`${path}/history`),
        get<{ items: Task[] }>(`/api/v1/tasks${qs({ [`${entity}_id`]: id })}`),
        isDeal ? Promise.resolve({ items: [] as Deal[] }) : get<{ items: Deal[] }>(`/api/v1/deals${qs({ client_id: id, limit: 100 })}`),
      ]);
      setDeals(ds.items);
      setRefs(r);
      setRecord(rec);
      setHistory(h.items);
      setTasks(tk.items);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, [id]);
  const act = async (fn: () => Promise<any>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e);
    }
  };
  if (!record || !refs) return error ? <ErrorBox error={error} /> : <p class="muted">{t("loading")}</p>;
  const title = isDeal ? record.title : record.name;
  return (
    <div id={`${entity}-card`} data-deleted={String(record.deleted)}>
      <div class="toolbar">
        <Link href={isDeal ? "/deals" : "/clients"}>← {isDeal ? t("nav_deals") : t("clients")}</Link>
        <h1>{title}</h1>
        <span class="spacer" />
        <CopyButton text={location.origin + `/${entity}s/${id}`} label={t("copy_link")} id="copy-link" />
        {!record.deleted && (
          <button type="button" class="secondary danger" id="delete-record" onClick={() => act(() => del(path))}>{t("delete")}</button>
        )}
      </div>
      <ErrorBox error={error} />
      {record.deleted && (
        <div class="deleted-banner" id="deleted-banner">
          <span>{t(isDeal ? "deleted_badge" : "deleted_client_badge")}</span>
          {can(me, "restore_records") && (
            <button type="button" class="primary small" id="restore" onClick={() => act(() => post(`${path}/restore`))}>
              {t("restore")}
            </button>
          )}
        </div>
      )}
      <div class="record">
        <div class="panel">
          {isDeal && record.client && (
            <p>{t("client")}: <Link href={`/clients/${record.client.id}`}>{record.client.name}</Link></p>
          )}
          <RecordForm key={version} entity={entity} record={record} refs={refs} onSaved={() => load()} />
        </div>
        <div>
          {!isDeal && (
            <div class="panel" id="client-deals">
              <h2>{t("deals")}</h2>
              <ul class="list">
                {deals.map((d) => (
                  <li key={d.id} data-deal-id={d.id}>
                    <Link href={`/deals/${d.id}`}>{d.title}</Link>
                    <span class="muted"> · {stageOf(refs, d.stage_id)?.name ?? ""} · {money(d.amount)} {t("sum")}</span>
                  </li>
                ))}
              </ul>
              {!deals.length && <p class="muted">{t("no_items")}</p>}
            </div>
          )}
          <TasksPanel tasks={tasks} refs={refs} link={{ [`${entity}_id`]: id }} onChange={load} />
          <div class="panel" id="history">
            <h2>{t("history")}</h2>
            <ul class="timeline">
              {history.map((h) => (
                <li key={h.id}>
                  <span class="muted">{dateTime(h.at)} · {h.source === "user" ? userName(refs, h.actor_id)
                    : t(`src_${h.source}` as TextKey)}</span>
                  <div><strong>{label(`act_${h.action}`, h.action)}</strong></div>
                  {h.changes.map((c, i) => (
                    <div key={i} class="muted">{fieldLabel(refs, entity, c.field)}: {show(refs, c.field, c.old)} → {show(refs, c.field, c.new)}</div>
                  ))}
                </li>
              ))}
            </ul>
          </div>
        </div>
      </div>
    </div>
  );
}

function label(key: string, fallback: string): string {
  const text = t(key as TextKey);
  return text === key ? fallback : text;
}

const BUILTIN_LABELS: Record<string, TextKey> = {
  title: "title", amount: "amount", client_id: "client", stage_id: "stage", responsible_id: "responsible",
  name: "name", phone: "phone", email: "email", task: "f_task",
};

function fieldLabel(refs: Refs, entity: Entity, field: string): string {
  const key = field.startsWith("fields.") ? field.slice(7) : field;
  if (BUILTIN_LABELS[key]) return t(BUILTIN_LABELS[key]);
  return refs.fields.find((f) => f.entity === entity && f.key === key)?.name ?? key;
}

function show(refs: Refs, field: string, v: any): string {
  if (v === null || v === undefined || v === "") return "—";
  if (field === "responsible_id") return userName(refs, v) || String(v);
  if (field === "stage_id") return stageOf(refs, v)?.name ?? String(v);
  if (field === "task" && typeof v === "string") return "✓";
  if (field === "phone" && typeof v === "object") return v.e164 ?? `${v.country} ${v.number}`;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// ---- tasks -------------------------------------------------------------------------------------
export function TasksPanel(props: { tasks: Task[]; refs: Refs; link?: Record<string, string>; onChange: () => void }) {
  const me = useMe();
  const [adding, setAdding] = useState(false);
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 16);
  const [form, setForm] = useState({ type: props.refs.taskTypes[0]?.key ?? "call", comment: "", due_at: tomorrow,
    responsible_id: me.user.id });
  const [error, setError] = useState<ApiError | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/api/v1/tasks", { ...form, ...(props.link ?? {}), due_at: new Date(form.due_at).toISOString() });
      setAdding(false);
      props.onChange();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const toggle = async (task: Task, done: boolean) => {
    try {
      await patch(`/api/v1/tasks/${task.id}`, { done });
    } catch (err) {
      setError(err as ApiError);
    }
    props.onChange();
  };
  const fe = error?.fieldMessages?.() ?? {};
  const typeName = (k: string) => props.refs.taskTypes.find((x) => x.key === k)?.name ?? k;
  return (
    <div class="panel" id="tasks">
      <div class="panel-head">
        <h2>{t("tasks")}</h2>
        <button type="button" class="secondary small" id="add-task" onClick={() => setAdding(!adding)}>{t("add_task")}</button>
      </div>
      <ErrorBox error={error} shown={["type", "comment", "due_at"]} />
      {adding && (
        <form onSubmit={create} id="task-form">
          <SelectField label={t("task_type")} name="type" value={form.type} onValue={(v) => setForm({ ...form, type: v })}
            options={props.refs.taskTypes.map((x) => ({ value: x.key, label: x.name }))} error={fe.type} />
          <TextField label={t("comment")} name="comment" value={form.comment} onValue={(v) => setForm({ ...form, comment: v })}
            error={fe.comment} />
          <TextField label={t("due_at")} name="due_at" type="datetime-local" value={form.due_at}
            onValue={(v) => setForm({ ...form, due_at: v })} error={fe.due_at} />
          <SelectField label={t("responsible")} name="responsible_id" value={form.responsible_id}
            onValue={(v) => setForm({ ...form, responsible_id: v })} options={userOptions(props.refs)} />
          <div class="actions"><button type="submit" class="primary" id="task-save">{t("create")}</button></div>
        </form>
      )}
      <ul class="list task-list">
        {props.tasks.map((task) => (
          <li key={task.id} class={`task${task.done ? " done" : ""}`} data-task={task.comment}>
            <label class="check">
              <input type="checkbox" checked={task.done} onChange={(e) => toggle(task, (e.target as HTMLInputElement).checked)} />
              <strong>{typeName(task.type)}</strong>
            </label>
            <div>{task.comment}</div>
            <div class="muted">{dateTime(task.due_at)} · {userName(props.refs, task.responsible_id)}
              {task.deal_id && !props.link ? <> · <Link href={`/deals/${task.deal_id}`}>{t("deal")}</Link></> : null}
              {task.client_id && !props.link ? <> · <Link href={`/clients/${task.client_id}`}>{t("client")}</Link></> : null}
            </div>
          </li>
        ))}
      </ul>
      {!props.tasks.length && <p class="muted">{t("no_items")}</p>}
    </div>
  );
}

export function TasksPage() {
  const me = useMe();
  const refs = useRefs();
  const [mine, setMine] = useState(true);
  const [done, setDone] = useState(false);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [error, setError] = useState<unknown>(null);
  const load = () => get<{ items: Task[] }>(`/api/v1/tasks${qs({ responsible_id: mine ? me.user.id : "", done, limit: 200 })}`)
    .then((r) => setTasks(r.items), setError);
  useEffect(() => {
    load();
  }, [mine, done]);
  if (!refs) return <p class="muted">{t("loading")}</p>;
  return (
    <div id="tasks-page">
      <h1>{t("tasks")}</h1>
      <div class="filters">
        <label class="check"><input type="checkbox" checked={mine} onChange={() => setMine(!mine)} /> {t("responsible")}: {userName(refs, me.user.id)}</label>
        <label class="check"><input type="checkbox" checked={done} onChange={() => setDone(!done)} /> {t("done")}</label>
      </div>
      <ErrorBox error={error} />
      <TasksPanel tasks={tasks} refs={refs} onChange={load} />
    </div>
  );
}

