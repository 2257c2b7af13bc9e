// Settings → Fields: custom field definitions of deals and clients.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, post } from "../api";
import { t } from "../i18n";
import { can, useMe } from "../session";
import { ErrorBox, SelectField, TextField, useBusy, useConfirm } from "../ui";
import type { FieldDef } from "./funnel";

const TYPES = ["text", "number", "money", "date", "datetime", "select", "multiselect", "checkbox", "phone", "email",
  "url", "autodate", "autonumber"];

export function FieldsPage() {
  const me = useMe();
  const [entity, setEntity] = useState<"deal" | "client">("deal");
  const [items, setItems] = useState<FieldDef[]>([]);
  const [form, setForm] = useState({ key: "", name: "", type: "text", options: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const load = () => get<{ items: FieldDef[] }>(`/api/v1/fields?entity=${entity}`).then((r) => setItems(r.items), setError);
  useEffect(() => {
    load();
  }, [entity]);
  const [busy, run] = useBusy();
  const { dialog, ask } = useConfirm();
  const add = (e: Event) => {
    e.preventDefault();
    run(async () => {
      setError(null);
      try {
        const options = form.options.split(",").map((x) => x.trim()).filter(Boolean);
        await post("/api/v1/fields", { entity, key: form.key, name: form.name, type: form.type, options });
        setForm({ key: "", name: "", type: "text", options: "" });
        load();
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  const remove = (f: FieldDef) => ask(t("confirm_delete_field", { name: f.name }), async () => {
    try {
      await del(`/api/v1/fields/${f.id}`);
      load();
    } catch (err) {
      setError(err as ApiError);
    }
  });
  const fe = error?.fieldMessages?.() ?? {};
  const admin = can(me, "manage_funnels");
  return (
    <div id="fields-page">
      <h1>{t("settings_fields")}</h1>
      <div class="tabs">
        {(["deal", "client"] as const).map((e) => (
          <button type="button" key={e} class={e === entity ? "active" : ""} onClick={() => setEntity(e)}>
            {t("fields_of", { entity: t(e === "deal" ? "entity_deal" : "entity_client") })}
          </button>
        ))}
      </div>
      <ErrorBox error={error} shown={["name", "key", "type", "options", "entity"]} />
      <div class="table-wrap"><table class="table">
        <thead><tr><th>{t("field_name")}</th><th>{t("field_key")}</th><th>{t("field_type")}</th><th /></tr></thead>
        <tbody>
          {items.map((f) => (
            <tr key={f.id} data-field={f.key}>
              <td>{f.name}</td><td><code>{f.key}</code></td>
              <td>{f.type}{f.options.length ? `: ${f.options.join(", ")}` : ""}</td>
              <td>{admin && <button type="button" class="link danger small" onClick={() => remove(f)}>{t("delete")}</button>}</td>
            </tr>
          ))}
        </tbody>
      </table></div>
      {admin && (
        <form class="inline-form" onSubmit={add} id="field-form">
          <TextField label={t("field_name")} name="name" value={form.name} onValue={(v) => setForm({ ...form, name: v })} error={fe.name} />
          <TextField label={t("field_key")} name="key" value={form.key} onValue={(v) => setForm({ ...form, key: v })} error={fe.key} />
          <SelectField label={t("field_type")} name="type" value={form.type} onValue={(v) => setForm({ ...form, type: v })}
            options={TYPES.map((x) => ({ value: x, label: x }))} error={fe.type} />
          {(form.type === "select" || form.type === "multiselect") && (
            <TextField label={t("field_options")} name="options" value={form.options}
              onValue={(v) => setForm({ ...form, options: v })} error={fe.options} />
          )}
          <button type="submit" class="primary" id="field-add" disabled={busy}>{t("add_field")}</button>
        </form>
      )}
      {dialog}
    </div>
  );
}
