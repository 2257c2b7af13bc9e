// Settings → Funnel: the four fixed groups with their stages; an edit mode (add, rename, recolor,
// drag to reorder, remove) saved as a whole with the funnel's version; per-stage field rules.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, put } from "../api";
import { t, type TextKey } from "../i18n";
import { can, useMe } from "../session";
import { ErrorBox, Modal, useBusy, useConfirm } from "../ui";

export interface Stage {
  id?: string;
  name: string;
  color: string;
  position?: number;
  tmp?: string;
}

export interface Funnel {
  id: string;
  name: string;
  entity: "deal" | "client";
  version: number;
  groups: Array<{ key: string; stages: Stage[] }>;
}

export interface FieldDef {
  id: string;
  entity: string;
  key: string;
  name: string;
  type: string;
  options: string[];
}

export const groupLabel = (key: string) => t(`group_${key}` as TextKey);

export function allStages(f: Funnel): Array<Stage & { group: string }> {
  return f.groups.flatMap((g) => g.stages.map((s) => ({ ...s, group: g.key })));
}

let tmpCounter = 0;

export function FunnelEditor() {
  const me = useMe();
  const [funnels, setFunnels] = useState<Funnel[]>([]);
  const [entity, setEntity] = useState<"deal" | "client">("deal");
  const [palette, setPalette] = useState<string[]>([]);
  const [draft, setDraft] = useState<Funnel | null>(null);
  const [moves, setMoves] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const [rulesFor, setRulesFor] = useState<Stage | null>(null);
  // The stage being dragged (a ref: drop may come before a re-render).
  const dragging = useRef<{ group: number; index: number } | null>(null);
  const setDragging = (v: { group: number; index: number } | null) => (dragging.current = v);

  const load = async () => {
    try {
      const [f, p] = await Promise.all([get<{ items: Funnel[] }>("/api/v1/funnels"), get<{ colors: string[] }>("/api/v1/palette")]);
      setFunnels(f.items);
      setPalette(p.colors);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);

  const funnel = funnels.find((f) => f.entity === entity);
  const editable = can(me, "manage_funnels");
  const startEdit = () => {
    if (!funnel) return;
    setDraft(JSON.parse(JSON.stringify(funnel)));
    setMoves({});
    setNotice("");
    setError(null);
  };
  const [busy, saving] = useBusy();
  const { dialog, ask } = useConfirm();
  const update = (fn: (d: Funnel) => void) => {
    const next: Funnel = JSON.parse(JSON.stringify(draft));
    fn(next);
    setDraft(next);
  };
  const removedStages = funnel && draft
    ? allStages(funnel).filter((s) => !allStages(draft).some((d) => d.id === s.id))
    : [];
  const remaining = draft ? allStages(draft).filter((s) => s.id) : [];

  const save = () => saving(async () => {
    if (!draft) return;
    setError(null);
    const body = {
      version: draft.version,
      groups: draft.groups.map((g) => ({
        key: g.key,
        stages: g.stages.map((s) => (s.id ? { id: s.id, name: s.name, color: s.color } : { name: s.name, color: s.color })),
      })),
      removed: removedStages.map((s) => ({ stage_id: s.id, move_to_stage_id: moves[s.id!] || remaining[0]?.id || "" })),
    };
    try {
      await put(`/api/v1/funnels/${draft.id}`, body);
      setDraft(null);
      setNotice(t("saved"));
      await load();
    } catch (e) {
      if ((e as ApiError).code === "stale_version") {
        setDraft(null);
        setNotice(t("stale_funnel"));
        await load();
      } else setError(e);
    }
  });
  const fe = error instanceof ApiError ? error.fieldMessages() : {};

  const shown = draft ?? funnel;
  return (
    <div id="funnel-editor">
      <h1>{t("settings_funnel")}</h1>
      <div class="toolbar">
        <div class="tabs">
          {(["deal", "client"] as const).map((e) => (
            <button type="button" key={e} class={e === entity ? "active" : ""} disabled={!!draft} data-entity={e}
              onClick={() => setEntity(e)}>
              {t(e === "deal" ? "funnel_deal" : "funnel_client")}
            </button>
          ))}
        </div>
        <span class="spacer" />
        {editable && !draft && funnel && (
          <button type="button" class="primary" id="funnel-edit" onClick={startEdit}>{t("edit")}</button>
        )}
        {draft && (
          <>
            <button type="button" class="secondary" onClick={() => setDraft(null)}>{t("cancel")}</button>
            <button type="button" class="primary" id="funnel-save" disabled={busy} onClick={save}>{t("save")}</button>
          </>
        )}
      </div>
      {notice && <div class="alert success" id="funnel-notice">{notice}</div>}
      <ErrorBox error={error} shown={Object.keys(fe).filter((k) => /^groups\.\d+\.stages\.\d+\.(name|color)$/.test(k))} />
      {shown && (
        <div class={`funnel-groups${draft ? " editing" : ""}`}>
          {shown.groups.map((g, gi) => (
            <div class="funnel-group" key={g.key} data-group={g.key}
              onDragOver={(e) => draft && dragging.current && e.preventDefault()}
              onDrop={(e) => {
                e.preventDefault();
                const from = dragging.current;
                if (!draft || !from) return;
                update((d) => {
                  const [moved] = d.groups[from.group].stages.splice(from.index, 1);
                  d.groups[gi].stages.push(moved);
                });
                setDragging(null);
              }}>
              <h3>{groupLabel(g.key)}</h3>
              <ul class="stages">
                {g.stages.map((s, si) => {
                  const nameErr = fe[`groups.${gi}.stages.${si}.name`];
                  const colorErr = fe[`groups.${gi}.stages.${si}.color`];
                  return draft ? (
                    <li key={s.id ?? s.tmp} class="stage editing" data-stage={s.name} draggable
                      onDragStart={(e) => {
                        e.dataTransfer?.setData("text/plain", String(si));
                        setDragging({ group: gi, index: si });
                      }}
                      onDragOver={(e) => e.preventDefault()}
                      onDrop={(e) => {
                        e.preventDefault();
                        e.stopPropagation();
                        const from = dragging.current;
                        if (!from) return;
                        update((d) => {
                          const [moved] = d.groups[from.group].stages.splice(from.index, 1);
                          d.groups[gi].stages.splice(si, 0, moved);
                        });
                        setDragging(null);
                      }}>
                      <span class="handle" title={t("drag")}>⋮⋮</span>
                      <ColorPicker value={s.color} palette={palette}
                        onChange={(c) => update((d) => (d.groups[gi].stages[si].color = c))} />
                      <div class="stage-name">
                        <input value={s.name} aria-label={t("stage_name")} name="stage-name" maxLength={50}
                          class={nameErr ? "invalid" : ""}
                          onInput={(e) => {
                            const v = (e.target as HTMLInputElement).value;
                            update((d) => (d.groups[gi].stages[si].name = v));
                          }} />
                        {(nameErr || colorErr) && <span class="field-error">{nameErr || colorErr}</span>}
                      </div>
                      <button type="button" class="icon" aria-label={t("move_up")} title={t("move_up")} data-action="stage-up"
                        disabled={si === 0}
                        onClick={() => update((d) => {
                          const st = d.groups[gi].stages;
                          [st[si - 1], st[si]] = [st[si], st[si - 1]];
                        })}>↑</button>
                      <button type="button" class="icon" aria-label={t("move_down")} title={t("move_down")} data-action="stage-down"
                        disabled={si === g.stages.length - 1}
                        onClick={() => update((d) => {
                          const st = d.groups[gi].stages;
                          [st[si + 1], st[si]] = [st[si], st[si + 1]];
                        })}>↓</button>
                      <button type="button" class="icon danger" aria-label={t("delete_stage", { name: s.name })} title={t("delete")}
                        data-action="remove-stage"
                        onClick={() => ask(t("confirm_delete_stage", { name: s.name }),
                          async () => update((d) => d.groups[gi].stages.splice(si, 1)))}>×</button>
                    </li>
                  ) : (
                    <li key={s.id} class="stage" data-stage={s.name}>
                      <span class="dot" style={{ background: s.color }} />
                      <span class="stage-label">{s.name}</span>
                      {editable && s.id && (
                        <button type="button" class="link small" data-action="rules" onClick={() => setRulesFor(s)}>
                          {t("rules")}
                        </button>
                      )}
                    </li>
                  );
                })}
              </ul>
              {draft && (
                <button type="button" class="secondary small add-stage" data-action="add-stage"
                  onClick={() => update((d) => d.groups[gi].stages.push({
                    name: t("new_stage"), color: palette[(tmpCounter) % Math.max(palette.length, 1)] ?? "#90A4AE",
                    tmp: `new-${++tmpCounter}`,
                  }))}>
                  {t("add_stage")}
                </button>
              )}
            </div>
          ))}
        </div>
      )}
      {draft && removedStages.length > 0 && (
        <div class="panel" id="removed-stages">
          {removedStages.map((s) => (
            <label class="field" key={s.id}>
              <span class="label">{t("move_records_to", { name: s.name })}</span>
              <select value={moves[s.id!] || remaining[0]?.id}
                onChange={(e) => setMoves({ ...moves, [s.id!]: (e.target as HTMLSelectElement).value })}>
                {remaining.map((r) => <option value={r.id} key={r.id}>{r.name}</option>)}
              </select>
            </label>
          ))}
        </div>
      )}
      {rulesFor && funnel && (
        <StageRules stage={rulesFor} entity={funnel.entity} onClose={() => setRulesFor(null)} />
      )}
      {dialog}
    </div>
  );
}

function ColorPicker({ value, palette, onChange }: { value: string; palette: string[]; onChange: (c: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <div class="color-picker">
      <button type="button" class="swatch" style={{ background: value }} aria-label={t("stage_color", { color: value })}
        title={t("stage_color", { color: value })} aria-expanded={open} data-action="color" onClick={() => setOpen(!open)} />
      {open && (
        <div class="palette-pop">
          {palette.map((c) => (
            <button type="button" key={c} class={`swatch${c.toLowerCase() === value.toLowerCase() ? " selected" : ""}`}
              style={{ background: c }} aria-label={t("pick_color", { color: c })} title={c} data-color={c}
              aria-pressed={c.toLowerCase() === value.toLowerCase()}
              onClick={() => { onChange(c); setOpen(false); }} />
          ))}
          <label class="custom-color" title={t("custom_color")}>
            <input type="color" value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value.toUpperCase())} />
            <span>{t("custom_color")}</span>
          </label>
        </div>
      )}
    </div>
  );
}

const RULES = ["required", "one_time", "autodate", "autonumber"] as const;
const BUILTIN: Record<string, Array<{ key: string; name: TextKey }>> = {
  deal: [{ key: "title", name: "title" }, { key: "amount", name: "amount" }, { key: "client_id", name: "client" },
    { key: "responsible_id", name: "responsible" }],
  client: [{ key: "name", name: "name" }, { key: "phone", name: "phone" }, { key: "email", name: "email" },
    { key: "responsible_id", name: "responsible" }],
};

function StageRules({ stage, entity, onClose }: { stage: Stage; entity: string; onClose: () => void }) {
  const [rules, setRules] = useState<Record<string, string[]> | null>(null);
  const [fields, setFields] = useState<FieldDef[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    Promise.all([get(`/api/v1/stages/${stage.id}/rules`), get<{ items: FieldDef[] }>(`/api/v1/fields?entity=${entity}`)])
      .then(([r, f]) => { setRules(r); setFields(f.items); }, setError);
  }, []);
  const rows = [
    ...BUILTIN[entity].map((b) => ({ key: b.key, name: t(b.name), type: "builtin" })),
    ...fields.map((f) => ({ key: f.key, name: f.name, type: f.type })),
  ];
  const applicable = (rule: string, type: string) =>
    rule === "autodate" ? type === "autodate" || type === "date" || type === "datetime"
      : rule === "autonumber" ? type === "autonumber" || type === "number" : true;
  const toggle = (rule: string, key: string, on: boolean) => {
    if (!rules) return;
    const list = new Set(rules[rule]);
    if (on) list.add(key); else list.delete(key);
    setRules({ ...rules, [rule]: [...list] });
  };
  const [busy, run] = useBusy();
  const save = () => run(async () => {
    try {
      await put(`/api/v1/stages/${stage.id}/rules`, {
        required: rules!.required, one_time: rules!.one_time, autodate: rules!.autodate, autonumber: rules!.autonumber,
      });
      onClose();
    } catch (e) {
      setError(e);
    }
  });
  return (
    <Modal title={t("stage_rules", { name: stage.name })} onClose={onClose} id="stage-rules" wide>
      <ErrorBox error={error} />
      {rules && (
        <div class="table-wrap"><table class="table">
          <thead>
            <tr><th>{t("field")}</th>{RULES.map((r) => <th key={r}>{t(`rule_${r}` as TextKey)}</th>)}</tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <tr key={f.key} data-field={f.key}>
                <td>{f.name} <code class="muted">{f.key}</code></td>
                {RULES.map((r) => (
                  <td key={r}>
                    {applicable(r, f.type) && (
                      <input type="checkbox" data-rule={r} checked={rules[r].includes(f.key)}
                        aria-label={`${t(`rule_${r}` as TextKey)}: ${f.name}`}
                        onChange={(e) => toggle(r, f.key, (e.target as HTMLInputElement).checked)} />
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>{t("cancel")}</button>
        <button type="button" class="primary" id="rules-save" disabled={busy} onClick={save}>{t("save")}</button>
      </div>
    </Modal>
  );
}
