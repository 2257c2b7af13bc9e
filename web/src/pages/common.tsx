// Shared by the record screens: cached reference data (users, funnels, fields, countries, task types),
// the custom-field inputs, the phone input, and the responsible picker.
import { useEffect, useState } from "preact/hooks";
import { get } from "../api";
import { t } from "../i18n";
import { fullName, type User } from "../session";
import type { FieldDef, Funnel } from "./funnel";

export interface Country {
  code: string;
  dialing_code: string;
  lengths: number[];
  example: string;
}

export interface Refs {
  users: User[];
  funnels: Funnel[];
  fields: FieldDef[];
  countries: Country[];
  taskTypes: Array<{ key: string; name: string }>;
}

let cache: Promise<Refs> | null = null;
let cachedAt = 0;

export function loadRefs(force = false): Promise<Refs> {
  if (!cache || force || Date.now() - cachedAt > 15000) {
    cachedAt = Date.now();
    cache = Promise.all([
      get<{ items: User[] }>("/api/v1/users"),
      get<{ items: Funnel[] }>("/api/v1/funnels"),
      get<{ items: FieldDef[] }>("/api/v1/fields"),
      get<{ items: Country[] }>("/api/v1/countries"),
      get<{ items: Array<{ key: string; name: string }> }>("/api/v1/task-types").catch(() => ({ items: [] })),
    ]).then(([u, f, fd, c, tt]) => ({ users: u.items, funnels: f.items, fields: fd.items, countries: c.items,
      taskTypes: tt.items }));
    cache.catch(() => (cache = null));
  }
  return cache;
}

export function useRefs(): Refs | null {
  const [refs, setRefs] = useState<Refs | null>(null);
  useEffect(() => {
    loadRefs().then(setRefs, () => setRefs({ users: [], funnels: [], fields: [], countries: [], taskTypes: [] }));
  }, []);
  return refs;
}

export function userName(refs: Refs | null, id: string | null | undefined): string {
  const u = refs?.users.find((x) => x.id === id);
  return u ? fullName(u) : "";
}

export function stageOf(refs: Refs | null, id: string | null | undefined) {
  for (const f of refs?.funnels ?? []) for (const g of f.groups) for (const s of g.stages)
    if (s.id === id) return { ...s, group: g.key, funnel: f };
  return null;
}

export function stageOptions(refs: Refs | null, entity: "deal" | "client") {
  return (refs?.funnels ?? []).filter((f) => f.entity === entity).flatMap((f) =>
    f.groups.flatMap((g) => g.stages.map((s) => ({ value: s.id!, label: s.name }))));
}

export function userOptions(refs: Refs | null, empty = false) {
  const list = (refs?.users ?? []).filter((u) => u.active).map((u) => ({ value: u.id, label: fullName(u) }));
  return empty ? [{ value: "", label: t("all") }, ...list] : list;
}

export const AUTO_TYPES = ["autodate", "autonumber"];

export function FieldInput(props: { def: FieldDef; value: any; onValue: (v: any) => void; readOnly?: boolean;
  error?: string; highlight?: boolean }) {
  const { def, value, readOnly } = props;
  const set = (v: any) => props.onValue(v);
  let input;
  if (def.type === "checkbox") {
    input = <input type="checkbox" name={def.key} checked={!!value} disabled={readOnly}
      onChange={(e) => set((e.target as HTMLInputElement).checked)} />;
  } else if (def.type === "select") {
    input = (
      <select name={def.key} value={value ?? ""} disabled={readOnly} onChange={(e) => set((e.target as HTMLSelectElement).value || null)}>
        <option value="">—</option>
        {def.options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    );
  } else if (def.type === "multiselect") {
    const list: string[] = Array.isArray(value) ? value : [];
    input = (
      <div class="multi">
        {def.options.map((o) => (
          <label class="check" key={o}>
            <input type="checkbox" checked={list.includes(o)} disabled={readOnly}
              onChange={(e) => set((e.target as HTMLInputElement).checked ? [...list, o] : list.filter((x) => x !== o))} />
            {o}
          </label>
        ))}
      </div>
    );
  } else {
    const type = { number: "number", money: "number", date: "date", datetime: "datetime-local", email: "email",
      url: "url" }[def.type] ?? "text";
    const shown = value === null || value === undefined ? ""
      : def.type === "datetime" && typeof value === "string" ? value.slice(0, 16) : String(value);
    input = <input type={(AUTO_TYPES.includes(def.type) ? "text" : type) as any} name={def.key} value={shown}
      readOnly={readOnly} step={def.type === "money" ? "0.01" : undefined}
      onInput={(e) => {
        const raw = (e.target as HTMLInputElement).value;
        if (raw === "") return set(null);
        if (def.type === "number") return set(Number(raw));
        if (def.type === "datetime") return set(new Date(raw).toISOString());
        set(raw);
      }} />;
  }
  return (
    <label class={`field${props.error ? " has-error" : ""}${props.highlight ? " highlight" : ""}${readOnly ? " readonly" : ""}`}
      data-field={def.key} title={readOnly ? t("readonly_field") : undefined}>
      <span class="label">{def.name}{props.highlight ? " *" : ""}</span>
      {input}
      {props.error && <span class="field-error">{props.error}</span>}
    </label>
  );
}

export interface Phone {
  country: string;
  number: string;
}

export function PhoneInput(props: { countries: Country[]; value: Phone | null; onValue: (p: Phone | null) => void;
  disabled?: boolean; error?: string; highlight?: boolean }) {
  const value = props.value ?? { country: "UZ", number: "" };
  const country = props.countries.find((c) => c.code === value.country);
  return (
    <label class={`field${props.error ? " has-error" : ""}${props.highlight ? " highlight" : ""}`} data-field="phone">
      <span class="label">{t("phone")}</span>
      <div class="phone-input">
        <select name="phone-country" value={value.country} disabled={props.disabled} aria-label={t("country")}
          onChange={(e) => props.onValue({ ...value, country: (e.target as HTMLSelectElement).value })}>
          {props.countries.map((c) => <option key={c.code} value={c.code}>{c.code} {c.dialing_code}</option>)}
        </select>
        <input name="phone-number" inputMode="numeric" value={value.number} disabled={props.disabled}
          placeholder={country?.example ?? ""} maxLength={country ? Math.max(...country.lengths) : 15}
          onInput={(e) => {
            const el = e.target as HTMLInputElement;
            const digits = el.value.replace(/\D/g, "");
            if (digits !== el.value) el.value = digits;
            props.onValue({ ...value, number: digits });
          }} />
      </div>
      <span class="hint muted">{t("phone_hint")}</span>
      {props.error && <span class="field-error">{props.error}</span>}
    </label>
  );
}
