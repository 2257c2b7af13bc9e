// Tasks: a record's tasks panel and the tasks page (Overdue / Today / Upcoming, each paged by cursor); a task
// is edited inline (due time, type, comment, responsible), ticked done, or deleted after a confirmation.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post, qs } from "../api";
import { t, type TextKey } from "../i18n";
import { useMe } from "../session";
import { dateTime, ErrorBox, Link, SelectField, TextField, useBusy, useConfirm } from "../ui";
import { type Refs, useRefs, userName, userOptions } from "./common";

export interface Task {
  id: string;
  type: string;
  comment: string;
  due_at: string;
  responsible_id: string;
  deal_id: string | null;
  client_id: string | null;
  done: boolean;
  overdue?: boolean;
  process_id: string | null;
}

type Page = { items: Task[]; next_cursor: string | null };

/** A date as the value of an <input type=datetime-local>, in local time. */
export function localInput(value: string | number | Date): string {
  const d = new Date(value);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

type TaskForm = { type: string; comment: string; due_at: string; responsible_id: string };

function TaskFields(props: { refs: Refs; form: TaskForm; set: (f: TaskForm) => void; error: ApiError | null }) {
  const { form, set } = props;
  const fe = props.error?.fieldMessages?.() ?? {};
  return (
    <>
      <SelectField label={t("task_type")} name="type" value={form.type} onValue={(v) => set({ ...form, type: v })}
        options={props.refs.taskTypes.map((x) => ({ value: x.key, label: x.name }))} error={fe.type} />
      <TextField label={t("comment")} name="comment" value={form.comment} onValue={(v) => set({ ...form, comment: v })}
        error={fe.comment} />
      <TextField label={t("due_at")} name="due_at" type="datetime-local" value={form.due_at}
        onValue={(v) => set({ ...form, due_at: v })} error={fe.due_at} />
      <SelectField label={t("responsible")} name="responsible_id" value={form.responsible_id}
        onValue={(v) => set({ ...form, responsible_id: v })} options={userOptions(props.refs)} error={fe.responsible_id} />
    </>
  );
}

/** One task: tick done, edit inline, delete (asks first). */
export function TaskRow(props: { task: Task; refs: Refs; linked?: boolean; onChange: () => void;
  ask: (text: string, action: () => Promise<unknown>) => void }) {
  const { task, refs } = props;
  const [editing, setEditing] = useState<TaskForm | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const typeName = (k: string) => refs.taskTypes.find((x) => x.key === k)?.name ?? k;
  const send = (body: Record<string, unknown>, after?: () => void) => run(async () => {
    setError(null);
    try {
      await patch(`/api/v1/tasks/${task.id}`, body);
      after?.();
      props.onChange();
    } catch (err) {
      setError(err as ApiError);
    }
  });
  const save = (e: Event) => {
    e.preventDefault();
    if (!editing) return;
    const body: Record<string, unknown> = {};
    if (editing.type !== task.type) body.type = editing.type;
    if (editing.comment !== task.comment) body.comment = editing.comment;
    if (editing.responsible_id !== task.responsible_id) body.responsible_id = editing.responsible_id;
    if (editing.due_at !== localInput(task.due_at)) body.due_at = new Date(editing.due_at).toISOString();
    if (!Object.keys(body).length) return setEditing(null);
    send(body, () => setEditing(null));
  };
  const remove = () => props.ask(t("confirm_delete_task"), async () => {
    try {
      await del(`/api/v1/tasks/${task.id}`);
    } catch (err) {
      setError(err as ApiError);
    }
    props.onChange();
  });
  const overdue = !!task.overdue && !task.done;
  return (
    <li class={`task${task.done ? " done" : ""}${overdue ? " overdue" : ""}`} data-task={task.comment} data-task-id={task.id}>
      <div class="task-head">
        <label class="check">
          <input type="checkbox" name="done" checked={task.done} disabled={busy}
            onChange={(e) => send({ done: (e.target as HTMLInputElement).checked })} />
          <strong>{typeName(task.type)}</strong>
        </label>
        {overdue && <span class="badge overdue-badge">{t("task_overdue")}</span>}
        <span class="task-actions">
        <button type="button" class="link small" data-action="edit-task" onClick={() => setEditing(editing ? null : {
          type: task.type, comment: task.comment, due_at: localInput(task.due_at), responsible_id: task.responsible_id })}>
          {t("edit")}
        </button>
        <button type="button" class="link small danger" data-action="delete-task" onClick={remove}>{t("delete")}</button>
        </span>
      </div>
      {!editing && <div>{task.comment}</div>}
      {!editing && (
        <div class="muted due">{dateTime(task.due_at)} · {userName(refs, task.responsible_id)}
          {task.deal_id && props.linked ? <> · <Link href={`/deals/${task.deal_id}`}>{t("deal")}</Link></> : null}
          {task.client_id && props.linked ? <> · <Link href={`/clients/${task.client_id}`}>{t("client")}</Link></> : null}
        </div>
      )}
      <ErrorBox error={error} shown={editing ? ["type", "comment", "due_at", "responsible_id"] : undefined} />
      {editing && (
        <form class="task-edit" onSubmit={save} noValidate>
          <TaskFields refs={refs} form={editing} set={setEditing} error={error} />
          <div class="actions">
            <button type="button" class="secondary" onClick={() => setEditing(null)}>{t("cancel")}</button>
            <button type="submit" class="primary" data-action="save-task" disabled={busy}>{t("save")}</button>
          </div>
        </form>
      )}
    </li>
  );
}

export function TasksPanel(props: { tasks: Task[]; refs: Refs; link?: Record<string, string>; onChange: () => void }) {
  const me = useMe();
  const [adding, setAdding] = useState(false);
  const [form, setForm] = useState<TaskForm>({ type: props.refs.taskTypes[0]?.key ?? "call", comment: "",
    due_at: localInput(Date.now() + 86400000), responsible_id: me.user.id });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const { dialog, ask } = useConfirm();
  const create = (e: Event) => {
    e.preventDefault();
    run(async () => {
      setError(null);
      try {
        await post("/api/v1/tasks", { ...form, ...(props.link ?? {}), due_at: new Date(form.due_at).toISOString() });
        setAdding(false);
        setForm({ ...form, comment: "" });
        props.onChange();
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  return (
    <div class="panel" id="tasks">
      <div class="panel-head">
        <h2>{t("tasks")}</h2>
        <button type="button" class="secondary small" id="add-task" onClick={() => setAdding(!adding)}>{t("add_task")}</button>
      </div>
      <ErrorBox error={error} shown={["type", "comment", "due_at", "responsible_id"]} />
      {adding && (
        <form onSubmit={create} id="task-form" noValidate>
          <TaskFields refs={props.refs} form={form} set={setForm} error={error} />
          <div class="actions"><button type="submit" class="primary" id="task-save" disabled={busy}>{t("create")}</button></div>
        </form>
      )}
      <TaskList tasks={props.tasks} refs={props.refs} linked={!props.link} onChange={props.onChange} ask={ask} />
      {dialog}
    </div>
  );
}

function TaskList(props: { tasks: Task[]; refs: Refs; linked: boolean; onChange: () => void;
  ask: (text: string, action: () => Promise<unknown>) => void }) {
  return (
    <>
      <ul class="list task-list">
        {props.tasks.map((task) => (
          <TaskRow key={task.id} task={task} refs={props.refs} linked={props.linked} onChange={props.onChange} ask={props.ask} />
        ))}
      </ul>
      {!props.tasks.length && <p class="muted">{t("no_items")}</p>}
    </>
  );
}

const GROUPS = [
  { due: "overdue", label: "due_overdue" },
  { due: "today", label: "due_today_group" },
  { due: "upcoming", label: "due_upcoming" },
] as const;

function TaskGroup(props: { due: string; label: TextKey; refs: Refs; filter: Record<string, string | boolean>;
  version: number; onChange: () => void; ask: (text: string, action: () => Promise<unknown>) => void }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, run] = useBusy();
  const query = (more?: string | null) => `/api/v1/tasks${qs({ ...props.filter, due: props.due, limit: 50, cursor: more })}`;
  useEffect(() => {
    get<Page>(query()).then((r) => { setTasks(r.items); setCursor(r.next_cursor); setError(null); }, setError);
  }, [props.version, JSON.stringify(props.filter)]);
  const more = () => run(() => get<Page>(query(cursor)).then((r) => {
    setTasks((cur) => [...cur, ...r.items.filter((x) => !cur.some((c) => c.id === x.id))]);
    setCursor(r.next_cursor);
  }, setError));
  return (
    <section class={`panel task-group group-${props.due}`} id={`tasks-${props.due}`}>
      <h2>{t(props.label)} <span class="muted count">{tasks.length}{cursor ? "+" : ""}</span></h2>
      <ErrorBox error={error} />
      <TaskList tasks={tasks} refs={props.refs} linked onChange={props.onChange} ask={props.ask} />
      {cursor && (
        <button type="button" class="secondary small" data-action="more-tasks" disabled={busy} onClick={more}>{t("load_more")}</button>
      )}
    </section>
  );
}

export function TasksPage() {
  const me = useMe();
  const refs = useRefs();
  const [mine, setMine] = useState(true);
  const [done, setDone] = useState(false);
  const [version, setVersion] = useState(0);
  const { dialog, ask } = useConfirm();
  if (!refs) return <p class="muted">{t("loading")}</p>;
  const filter = { responsible_id: mine ? me.user.id : "", done };
  const reload = () => setVersion((v) => v + 1);
  return (
    <div id="tasks-page">
      <h1>{t("tasks")}</h1>
      <div class="filters">
        <label class="check"><input type="checkbox" name="mine" checked={mine} onChange={() => setMine(!mine)} /> {t("responsible")}: {userName(refs, me.user.id)}</label>
        <label class="check"><input type="checkbox" name="show-done" checked={done} onChange={() => setDone(!done)} /> {t("done")}</label>
      </div>
      <div class="task-groups">
        {GROUPS.map((g) => (
          <TaskGroup key={g.due} due={g.due} label={g.label} refs={refs} filter={filter} version={version} onChange={reload} ask={ask} />
        ))}
      </div>
      {dialog}
    </div>
  );
}
