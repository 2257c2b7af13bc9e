// Small shared pieces: links, form fields with their API error, modal, copy button, language switch.
import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { LANGS, lang, locale, setLang, t } from "./i18n";
import { navigate } from "./router";

/** `current`: the link of the page shown (aria-current, for screen readers; styled by `class`). */
export function Link(props: { href: string; class?: string; children: ComponentChildren; id?: string; current?: boolean }) {
  const onClick = (e: MouseEvent) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(props.href);
  };
  return (
    <a href={props.href} class={props.class} id={props.id} onClick={onClick}
      aria-current={props.current ? "page" : undefined}>
      {props.children}
    </a>
  );
}

/** The FAQ's limit of a person's fields: «Имя», «Фамилия», «E-mail», «Пароль» up to 30 characters (the server
 * checks the same). */
export const PERSON_MAX = 30;

type InputProps = {
  type?: string;
  maxLength?: number;
  autoComplete?: string;
  required?: boolean;
  min?: number;
  placeholder?: string;
  inputMode?: "numeric" | "text" | "email" | "tel" | "decimal";
  disabled?: boolean;
  readOnly?: boolean;
  id?: string;
  label: string;
  name: string;
  error?: string;
  value: string;
  onValue: (v: string) => void;
  highlight?: boolean;
};

export function TextField({ label, name, error, value, onValue, highlight, ...rest }: InputProps) {
  return (
    <label class={`field${error ? " has-error" : ""}${highlight ? " highlight" : ""}`} data-field={name}>
      <span class="label">{label}</span>
      <input
        name={name}
        value={value}
        onInput={(e) => onValue((e.target as HTMLInputElement).value)}
        aria-invalid={error ? "true" : undefined}
        {...(rest as any)}
      />
      {error && <span class="field-error">{error}</span>}
    </label>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  value: string;
  onValue: (v: string) => void;
  options: Array<{ value: string; label: string }>;
  error?: string;
  disabled?: boolean;
  highlight?: boolean;
}) {
  return (
    <label class={`field${props.error ? " has-error" : ""}${props.highlight ? " highlight" : ""}`} data-field={props.name}>
      <span class="label">{props.label}</span>
      <select
        name={props.name}
        value={props.value}
        disabled={props.disabled}
        onChange={(e) => props.onValue((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option value={o.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error && <span class="field-error">{props.error}</span>}
    </label>
  );
}

/** The error's message; with `shown` (fields displayed inline next to their inputs) only when some
 * field error has no input of its own, listing those. */
export function ErrorBox({ error, shown }: { error: unknown; shown?: string[] }) {
  if (!error) return null;
  const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  let rest: Array<{ field: string; message: string }> = [];
  if (error instanceof ApiError && Array.isArray(error.details.fields)) {
    const fields = error.details.fields as Array<{ field: string; message: string }>;
    rest = shown ? fields.filter((f) => !shown.includes(f.field) && !shown.includes(f.field.split(".").slice(-1)[0])) : fields;
    if (shown && fields.length && !rest.length) return null;
  } else if (error instanceof ApiError && shown && typeof error.details.field === "string"
    && shown.includes(error.details.field)) {
    return null;
  }
  return (
    <div class="alert error" role="alert">
      {text}
      {rest.length > 0 && (
        <ul class="error-list">
          {rest.map((f, i) => <li key={i}><code>{f.field}</code>: {f.message}</li>)}
        </ul>
      )}
    </div>
  );
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** The one modal: Escape and the backdrop close it, Tab stays inside, focus returns where it was. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; id?: string; wide?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = box.current;
    const first = el?.querySelector(".modal-body")?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (!el || !el.isConnected) return;
      const modals = document.querySelectorAll(".modal");
      if (modals[modals.length - 1] !== el) return; // only the topmost one
      if (e.key === "Escape") {
        e.preventDefault();
        close.current();
      } else if (e.key === "Tab") {
        const items = [...el.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null);
        if (!items.length) return;
        const [a, z] = [items[0], items[items.length - 1]];
        if (e.shiftKey && (document.activeElement === a || !el.contains(document.activeElement))) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && (document.activeElement === z || !el.contains(document.activeElement))) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      if (before && before.isConnected) before.focus();
    };
  }, []);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`modal${props.wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label={props.title} id={props.id}
        ref={box} tabIndex={-1}>
        <header>
          <h2>{props.title}</h2>
          <button type="button" class="icon" aria-label={t("close")} onClick={props.onClose}>
            ×
          </button>
        </header>
        <div class="modal-body">{props.children}</div>
      </div>
    </div>
  );
}

/** `busy` while `run`'s request runs; a second `run` meanwhile (a double click) is ignored. */
export function useBusy(): [boolean, <T>(fn: () => Promise<T>) => Promise<T | undefined>] {
  const [busy, setBusy] = useState(false);
  const running = useRef(false);
  const run = useCallback(async <T,>(fn: () => Promise<T>) => {
    if (running.current) return undefined;
    running.current = true;
    setBusy(true);
    try {
      return await fn();
    } finally {
      running.current = false;
      setBusy(false);
    }
  }, []);
  return [busy, run];
}

/** Asks before a delete: `ask(text, action)` opens the dialog; Cancel keeps everything, Delete runs `action`
 * (its button disabled while it runs). Render `dialog` somewhere in the page. */
export function useConfirm(): { dialog: JSX.Element | null;
  ask: (text: string, action: () => Promise<unknown>, okLabel?: string) => void } {
  const [pending, setPending] = useState<{ text: string; action: () => Promise<unknown>; okLabel?: string } | null>(null);
  const [busy, run] = useBusy();
  const ask = useCallback((text: string, action: () => Promise<unknown>, okLabel?: string) =>
    setPending({ text, action, okLabel }), []);
  const dialog = pending && (
    <Modal title={t("confirm_title")} onClose={() => !busy && setPending(null)} id="confirm-dialog">
      <p id="confirm-text">{pending.text}</p>
      <div class="actions">
        <button type="button" class="secondary" id="confirm-cancel" onClick={() => setPending(null)} disabled={busy}>
          {t("cancel")}
        </button>
        <button type="button" class="primary danger-fill" id="confirm-ok" disabled={busy}
          onClick={() => run(async () => {
            try {
              await pending.action();
            } finally {
              setPending(null);
            }
          })}>
          {pending.okLabel ?? t("delete")}
        </button>
      </div>
    </Modal>
  );
  return { dialog, ask };
}

export function CopyButton({ text, label, id }: { text: string; label?: string; id?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" class="secondary small" id={id} onClick={copy}>
      {done ? t("copied") : label ?? t("copy")}
    </button>
  );
}

export function LangSwitch() {
  return (
    <div class="lang-switch">
      {LANGS.map((l) => (
        <button type="button" key={l} class={l === lang() ? "active" : ""} data-lang={l} lang={l}
          title={t(`lang_${l}`)} aria-label={`${l.toUpperCase()} · ${t(`lang_${l}`)}`} aria-pressed={l === lang()}
          onClick={() => setLang(l)}>
          {l.toUpperCase()}
        </button>
      ))}
    </div>
  );
}

export function money(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  if (Number.isNaN(n)) return String(value);
  return n.toLocaleString(locale(), { maximumFractionDigits: 2 });
}

export function dateTime(value: string | null | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

/** A small "name it" dialog (instead of window.prompt): one text field with the API's error; `initial`
 * and `submit` make it a rename dialog. */
export function NameDialog(props: { title: string; label: string; id?: string; onClose: () => void;
  onSubmit: (name: string) => Promise<void>; initial?: string; submit?: string; submitId?: string }) {
  const [name, setName] = useState(props.initial ?? "");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const submit = (e: Event) => {
    e.preventDefault();
    setError(null);
    run(async () => {
      try {
        await props.onSubmit(name);
        props.onClose();
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  const fe = error?.fieldMessages?.() ?? {};
  return (
    <Modal title={props.title} onClose={props.onClose} id={props.id}>
      <form onSubmit={submit} noValidate>
        <TextField label={props.label} name="name" value={name} onValue={setName} error={fe.name} />
        <ErrorBox error={error} shown={["name"]} />
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id={props.submitId}>{props.submit ?? t("create")}</button>
        </div>
      </form>
    </Modal>
  );
}
