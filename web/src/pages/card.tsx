// The deal and client cards: the rules-aware form, the client's deals, tasks, notes, the timeline (paged by
// cursor, note entries included), delete (asked first) and restore.
import { useEffect, useState } from "preact/hooks";
import { del, get, post, qs } from "../api";
import { t, type TextKey } from "../i18n";
import { can, useMe } from "../session";
import { CopyButton, dateTime, ErrorBox, Link, money, useBusy, useConfirm } from "../ui";
import { loadRefs, type Refs, stageOf, userName } from "./common";
import { NotesPanel } from "./notes";
import { type Deal, RecordForm } from "./records";
import { type Task, TasksPanel } from "./tasks";

type Entity = "deal" | "client";

interface HistoryItem {
  id: string;
  at: string;
  actor_id: string;
  source: string;
  action: string;
  changes: Array<{ field: string; old: any; new: any }>;
}

type HistoryPage = { items: HistoryItem[]; next_cursor: string | null };

export function RecordCard({ entity, id }: { entity: Entity; id: string }) {
  const me = useMe();
  const [refs, setRefs] = useState<Refs | null>(null);
  const [record, setRecord] = useState<any>(null);
  const [history, setHistory] = useState<HistoryItem[]>([]);
  const [historyCursor, setHistoryCursor] = useState<string | null>(null);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [deals, setDeals] = useState<Deal[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const [busy, run] = useBusy();
  const [moreBusy, more] = useBusy();
  const { dialog, ask } = useConfirm();
  const isDeal = entity === "deal";
  const path = `/api/v1/${entity}s/${id}`;
  const setPage = (h: HistoryPage) => {
    setHistory(h.items);
    setHistoryCursor(h.next_cursor);
  };
  const load = async () => {
    try {
      const [r, rec, h, tk, ds] = await Promise.all([
        loadRefs(), get(path), get<HistoryPage>(`${path}/history${qs({ limit: 20 })}`),
        get<{ items: Task[] }>(`/api/v1/tasks${qs({ [`${entity}_id`]: id, limit: 200 })}`),
        isDeal ? Promise.resolve({ items: [] as Deal[] }) : get<{ items: Deal[] }>(`/api/v1/deals${qs({ client_id: id, limit: 100 })}`),
      ]);
      setDeals(ds.items);
      setRefs(r);
      setRecord(rec);
      setPage(h);
      setTasks(tk.items);
      setVersion((v) => v + 1);
    } catch (e) {
      setError(e);
    }
  };
  const loadHistory = () => get<HistoryPage>(`${path}/history${qs({ limit: 20 })}`).then(setPage, setError);
  const loadTasks = () => get<{ items: Task[] }>(`/api/v1/tasks${qs({ [`${entity}_id`]: id, limit: 200 })}`)
    .then((r) => { setTasks(r.items); loadHistory(); }, setError);
  const moreHistory = () => more(() => get<HistoryPage>(`${path}/history${qs({ limit: 20, cursor: historyCursor })}`).then((h) => {
    setHistory((cur) => [...cur, ...h.items.filter((x) => !cur.some((c) => c.id === x.id))]);
    setHistoryCursor(h.next_cursor);
  }, setError));
  useEffect(() => {
    load();
  }, [id]);
  const act = (fn: () => Promise<any>) => run(async () => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e);
    }
  });
  if (!record || !refs) return error ? <ErrorBox error={error} /> : <p class="muted">{t("loading")}</p>;
  const title = isDeal ? record.title : record.name;
  const remove = () => ask(t(isDeal ? "confirm_delete_deal" : "confirm_delete_client", { name: title }), () => act(() => del(path)));
  return (
    <div id={`${entity}-card`} data-deleted={String(record.deleted)}>
      <div class="toolbar">
        <Link href={isDeal ? "/deals" : "/clients"}>← {isDeal ? t("nav_deals") : t("clients")}</Link>
        <h1>{title}</h1>
        <span class="spacer" />
        <CopyButton text={location.origin + `/${entity}s/${id}`} label={t("copy_link")} id="copy-link" />
        {!record.deleted && (
          <button type="button" class="secondary danger" id="delete-record" disabled={busy} onClick={remove}>{t("delete")}</button>
        )}
      </div>
      <ErrorBox error={error} />
      {record.deleted && (
        <div class="deleted-banner" id="deleted-banner">
          <span>{t(isDeal ? "deleted_badge" : "deleted_client_badge")}</span>
          {can(me, "restore_records") && (
            <button type="button" class="primary small" id="restore" disabled={busy} onClick={() => act(() => post(`${path}/restore`))}>
              {t("restore")}
            </button>
          )}
        </div>
      )}
      <div class="record">
        <div>
          <div class="panel">
            {isDeal && record.client && (
              <p>{t("client")}: <Link href={`/clients/${record.client.id}`}>{record.client.name}</Link></p>
            )}
            <RecordForm key={version} entity={entity} record={record} refs={refs} onSaved={() => load()} />
          </div>
          <NotesPanel entity={entity} id={id} refs={refs} readOnly={record.deleted} onChange={loadHistory} />
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
          <TasksPanel tasks={tasks} refs={refs} link={{ [`${entity}_id`]: id }} onChange={loadTasks} />
          <div class="panel" id="history">
            <h2>{t("history")}</h2>
            <ul class="timeline">
              {history.map((h) => <HistoryEntry key={h.id} h={h} refs={refs} entity={entity} />)}
            </ul>
            {historyCursor && (
              <button type="button" class="secondary small" id="history-more" disabled={moreBusy} onClick={moreHistory}>
                {t("load_more")}
              </button>
            )}
          </div>
        </div>
      </div>
      {dialog}
    </div>
  );
}

function HistoryEntry({ h, refs, entity }: { h: HistoryItem; refs: Refs; entity: Entity }) {
  const isNote = h.action.startsWith("note_");
  const text = (side: "old" | "new") => h.changes.find((c) => c.field === "text")?.[side];
  return (
    <li data-action={h.action} class={isNote ? "note-entry" : undefined}>
      <span class="muted">{dateTime(h.at)} · {h.source === "user" ? userName(refs, h.actor_id)
        : t(`src_${h.source}` as TextKey)}</span>
      <div><strong>{label(`act_${h.action}`, h.action)}</strong></div>
      {h.action === "note_added" && <div class="note-text">{text("new")}</div>}
      {h.action === "note_updated" && (
        <>
          <div class="note-text old">{text("old")}</div>
          <div class="note-text">{text("new")}</div>
        </>
      )}
      {!isNote && h.changes.map((c, i) => (
        <div key={i} class="muted">{fieldLabel(refs, entity, c.field)}: {show(refs, c.field, c.old)} → {show(refs, c.field, c.new)}</div>
      ))}
    </li>
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
