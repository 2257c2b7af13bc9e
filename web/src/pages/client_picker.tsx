// The deal form's client picker: a typeahead over GET /api/v1/clients?q= (records matches the name, or the
// phone's digits when three or more are typed), debounced, paged by the list's cursor, keyboard navigable
// (arrows, Enter, Escape) with the combobox/listbox roles.
import { useEffect, useRef, useState } from "preact/hooks";
import { get, qs } from "../api";
import { t } from "../i18n";

interface Hit {
  id: string;
  name: string;
  phone: { e164: string } | null;
}

type Page = { items: Hit[]; next_cursor: string | null };

export const PICKER_DEBOUNCE_MS = 250;
let seq = 0;

export function ClientPicker(props: { value: string; onValue: (id: string) => void; label: string; error?: string;
  highlight?: boolean; disabled?: boolean }) {
  const [id] = useState(() => `client-picker-${++seq}`);
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Hit[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [active, setActive] = useState(-1);
  const [loading, setLoading] = useState(false);
  const [query, setQuery] = useState<string | null>(null); // null: nothing asked yet
  const chosen = useRef("");
  const asked = useRef(0);

  // the chosen client's name (an existing deal names only its id)
  useEffect(() => {
    if (!props.value) {
      chosen.current = "";
      return;
    }
    if (props.value === chosen.current) return;
    get<Hit>(`/api/v1/clients/${props.value}`).then((c) => {
      chosen.current = c.id;
      setText(c.name);
    }, () => undefined);
  }, [props.value]);

  const fetchPage = (q: string, after: string | null) => {
    const mine = ++asked.current;
    setLoading(true);
    return get<Page>(`/api/v1/clients${qs({ q: q.trim(), limit: 20, cursor: after })}`).then((r) => {
      if (mine !== asked.current) return;
      setItems((cur) => (after ? [...cur, ...r.items.filter((x) => !cur.some((c) => c.id === x.id))] : r.items));
      setCursor(r.next_cursor);
      if (!after) setActive(r.items.length ? 0 : -1);
    }, () => undefined).finally(() => mine === asked.current && setLoading(false));
  };
  useEffect(() => {
    if (query === null) return;
    const timer = setTimeout(() => fetchPage(query, null), PICKER_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query]);

  const pick = (hit: Hit | null) => {
    chosen.current = hit?.id ?? "";
    setText(hit?.name ?? "");
    setOpen(false);
    setActive(-1);
    props.onValue(hit?.id ?? "");
  };
  const more = () => cursor && fetchPage(query ?? "", cursor);
  // the options: the hits, then "more" when the list has a next page
  const count = items.length + (cursor ? 1 : 0);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        if (query === null) setQuery(text);
        return;
      }
      if (!count) return;
      const step = e.key === "ArrowDown" ? 1 : -1;
      setActive((a) => (a + step + count) % count);
    } else if (e.key === "Enter") {
      if (!open) return;
      e.preventDefault();
      if (active >= 0 && active < items.length) pick(items[active]);
      else if (active === items.length && cursor) more();
    } else if (e.key === "Escape") {
      if (open) {
        e.preventDefault();
        e.stopPropagation(); // the dialog around stays open
        setOpen(false);
      }
    }
  };
  const listId = `${id}-list`;
  const optionId = (i: number) => `${id}-opt-${i}`;
  return (
    <div class={`field client-picker${props.error ? " has-error" : ""}${props.highlight ? " highlight" : ""}`}
      data-field="client_id">
      <label class="label" for={id}>{props.label}</label>
      <div class="combo">
        <input id={id} name="client_search" type="text" role="combobox" autocomplete="off" value={text}
          placeholder={t("client_search")} disabled={props.disabled} aria-autocomplete="list"
          aria-expanded={open ? "true" : "false"} aria-controls={listId} aria-invalid={props.error ? "true" : undefined}
          aria-activedescendant={open && active >= 0 ? optionId(active) : undefined}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setText(v);
            setOpen(true);
            setQuery(v);
            if (!v && props.value) pick(null);
          }}
          onFocus={() => {
            setOpen(true);
            if (query === null) setQuery(props.value ? "" : text);
          }}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onKeyDown={onKey} />
        {props.value && !props.disabled && (
          <button type="button" class="secondary small" aria-label={t("clear_choice")} title={t("clear_choice")}
            id={`${id}-clear`} onClick={() => pick(null)}>×</button>
        )}
        {open && !props.disabled && (
          <ul class="combo-list" id={listId} role="listbox" aria-label={props.label} aria-busy={loading ? "true" : "false"}>
            {items.map((c, i) => (
              <li key={c.id} id={optionId(i)} role="option" aria-selected={i === active ? "true" : "false"}
                class={`${i === active ? "active" : ""}${c.id === props.value ? " chosen" : ""}`} data-client-id={c.id}
                onMouseDown={(e) => { e.preventDefault(); pick(c); }} onMouseEnter={() => setActive(i)}>
                <span>{c.name}</span>
                {c.phone && <span class="muted"> · {c.phone.e164}</span>}
              </li>
            ))}
            {cursor && (
              <li id={optionId(items.length)} role="option" aria-selected={active === items.length ? "true" : "false"}
                class={`more${active === items.length ? " active" : ""}`} data-more="true"
                onMouseDown={(e) => { e.preventDefault(); more(); }}>
                {t("more_results")}
              </li>
            )}
            {!items.length && !loading && query !== null && <li class="muted empty" aria-disabled="true">{t("no_matches")}</li>}
          </ul>
        )}
      </div>
      {props.error && <span class="field-error">{props.error}</span>}
    </div>
  );
}
