// Settings → Business processes (F17): "+ Add process" (type Task, condition, when, assignee, task
// type, comment), the list with on/off, and what each process did.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post } from "../api";
import { t, type TextKey } from "../i18n";
import { can, useMe } from "../session";
import { dateTime, ErrorBox, Modal, SelectField, TextField, useBusy, useConfirm } from "../ui";
import { stageOf, stageOptions, useRefs } from "./common";

interface Process {
  id: string;
  name: string;
  type: string;
  trigger: { event: string; stage_id: string | null };
  due: string;
  assignee: string;
  task_type: string;
  comment: string;
  enabled: boolean;
}

interface Run {
  id: string;
  event: string;
  record_type: string;
  record_id: string;
  outcome: string;
  task_id: string | null;
  error: string | null;
  created_at: string;
}

const EVENTS = ["deal.created", "deal.stage_changed", "deal.responsible_changed", "client.created",
  "client.stage_changed", "client.responsible_changed"];
const DUES = ["today", "next_day", "week", "month"];
const evLabel = (e: string) => t(`ev_${e.replace(".", "_")}` as TextKey);

export function ProcessesPage() {
  const me = useMe();
  const refs = useRefs();
  const [items, setItems] = useState<Process[]>([]);
  const [adding, setAdding] = useState(false);
  const [runsOf, setRunsOf] = useState<Process | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => get<{ items: Process[] }>("/api/v1/processes").then((r) => setItems(r.items), setError);
  useEffect(() => {
    load();
  }, []);
  const admin = can(me, "manage_processes");
  const { dialog, ask } = useConfirm();
  const act = async (fn: () => Promise<any>) => {
    try {
      await fn();
    } catch (e) {
      setError(e);
    }
    load();
  };
  if (!refs) return <p class="muted">{t("loading")}</p>;
  const typeName = (k: string) => refs.taskTypes.find((x) => x.key === k)?.name ?? k;
  return (
    <div id="processes-page">
      <div class="toolbar">
        <h1>{t("processes")}</h1>
        <span class="spacer" />
        {admin && <button type="button" class="primary" id="add-process" onClick={() => setAdding(true)}>{t("add_process")}</button>}
      </div>
      <ErrorBox error={error} />
      <div class="table-wrap">
      <table class="table" id="processes-table">
        <thead>
          <tr><th>{t("condition")}</th><th>{t("when")}</th><th>{t("assignee")}</th><th>{t("task_type")}</th>
            <th>{t("comment")}</th><th>{t("enabled")}</th><th /></tr>
        </thead>
        <tbody>
          {items.map((p) => (
            <tr key={p.id} data-process={p.comment}>
              <td>{evLabel(p.trigger.event)}{p.trigger.stage_id ? `: ${stageOf(refs, p.trigger.stage_id)?.name ?? ""}` : ""}</td>
              <td>{t(`due_${p.due}` as TextKey)}</td>
              <td>{t(`assignee_${p.assignee}` as TextKey)}</td>
              <td>{typeName(p.task_type)}</td>
              <td>{p.comment}</td>
              <td>
                <label class="toggle">
                  <input type="checkbox" checked={p.enabled} disabled={!admin}
                    aria-label={`${t("enabled")}: ${p.comment || evLabel(p.trigger.event)}`}
                    onChange={(e) => act(() => patch(`/api/v1/processes/${p.id}`, { enabled: (e.target as HTMLInputElement).checked }))} />
                  <span class="slider" />
                </label>
              </td>
              <td>
                <button type="button" class="link small" onClick={() => setRunsOf(p)}>{t("runs")}</button>
                {admin && <button type="button" class="link small danger" data-action="delete-process"
                  onClick={() => ask(t("confirm_delete_process", { name: p.comment || evLabel(p.trigger.event) }),
                    () => act(() => del(`/api/v1/processes/${p.id}`)))}>{t("delete")}</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {!items.length && <p class="muted">{t("no_items")}</p>}
      {adding && (
        <Modal title={t("add_process")} onClose={() => setAdding(false)} id="process-dialog">
          <ProcessForm refs={refs} onSaved={() => { setAdding(false); load(); }} onCancel={() => setAdding(false)} />
        </Modal>
      )}
      {runsOf && <Runs process={runsOf} onClose={() => setRunsOf(null)} />}
      {dialog}
    </div>
  );
}

function ProcessForm(props: { refs: NonNullable<ReturnType<typeof useRefs>>; onSaved: () => void; onCancel: () => void }) {
  const [form, setForm] = useState({ event: "deal.stage_changed", stage_id: "", due: "today", assignee: "responsible",
    task_type: props.refs.taskTypes[0]?.key ?? "call", comment: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const entity = form.event.startsWith("deal") ? "deal" : "client";
  const [busy, run] = useBusy();
  const submit = (e: Event) => {
    e.preventDefault();
    run(() => send());
  };
  const send = async () => {
    setError(null);
    try {
      await post("/api/v1/processes", {
        type: "task", trigger: { event: form.event, stage_id: form.event.endsWith("stage_changed") && form.stage_id ? form.stage_id : null },
        due: form.due, assignee: form.assignee, task_type: form.task_type, comment: form.comment, enabled: true,
      });
      props.onSaved();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const fe = error?.fieldMessages?.() ?? {};
  return (
    <form onSubmit={submit} id="process-form" noValidate>
      <SelectField label={t("process_type")} name="type" value="task" onValue={() => undefined}
        options={[{ value: "task", label: t("process_type_task") }]} />
      <SelectField label={t("condition")} name="event" value={form.event} onValue={set("event")} error={fe.event}
        options={EVENTS.map((e) => ({ value: e, label: evLabel(e) }))} />
      {form.event.endsWith("stage_changed") && (
        <SelectField label={t("stage")} name="stage_id" value={form.stage_id} onValue={set("stage_id")} error={fe.stage_id}
          options={[{ value: "", label: t("any_stage") }, ...stageOptions(props.refs, entity)]} />
      )}
      <SelectField label={t("when")} name="due" value={form.due} onValue={set("due")}
        options={DUES.map((d) => ({ value: d, label: t(`due_${d}` as TextKey) }))} />
      <SelectField label={t("assignee")} name="assignee" value={form.assignee} onValue={set("assignee")}
        options={[{ value: "responsible", label: t("assignee_responsible") }, { value: "author", label: t("assignee_author") }]} />
      <SelectField label={t("task_type")} name="task_type" value={form.task_type} onValue={set("task_type")} error={fe.task_type}
        options={props.refs.taskTypes.map((x) => ({ value: x.key, label: x.name }))} />
      <TextField label={t("comment")} name="comment" value={form.comment} onValue={set("comment")} error={fe.comment} />
      <ErrorBox error={error} shown={["event", "stage_id", "task_type", "comment"]} />
      <div class="actions">
        <button type="button" class="secondary" onClick={props.onCancel}>{t("cancel")}</button>
        <button type="submit" class="primary" id="process-save" disabled={busy}>{t("save")}</button>
      </div>
    </form>
  );
}

function Runs({ process, onClose }: { process: Process; onClose: () => void }) {
  const [runs, setRuns] = useState<Run[]>([]);
  useEffect(() => {
    get<{ items: Run[] }>(`/api/v1/processes/${process.id}/runs`).then((r) => setRuns(r.items), () => undefined);
  }, []);
  return (
    <Modal title={`${t("runs")}: ${process.comment}`} onClose={onClose} wide>
      <div class="table-wrap"><table class="table">
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{dateTime(r.created_at)}</td><td>{evLabel(r.event)}</td><td>{r.outcome}</td>
              <td>{r.task_id ? "✓" : r.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table></div>
      {!runs.length && <p class="muted">{t("no_items")}</p>}
    </Modal>
  );
}
