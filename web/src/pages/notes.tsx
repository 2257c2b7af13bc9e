// A record's notes: add one (up to 4,000 characters), newest first with "show more", edit or delete your own
// (an admin any), a delete asked first.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post, qs } from "../api";
import { t } from "../i18n";
import { useMe } from "../session";
import { dateTime, ErrorBox, useBusy, useConfirm } from "../ui";
import { type Refs, userName } from "./common";

export interface Note {
  id: string;
  text: string;
  author_id: string;
  created_at: string;
  updated_at: string;
}

type Page = { items: Note[]; next_cursor: string | null };
const MAX = 4000;

function NoteText(props: { value: string; onValue: (v: string) => void; name: string; autoFocus?: boolean }) {
  return (
    <label class="field">
      <textarea name={props.name} rows={3} maxLength={MAX} value={props.value} placeholder={t("note_placeholder")}
        aria-label={t("notes")} autoFocus={props.autoFocus}
        onInput={(e) => props.onValue((e.target as HTMLTextAreaElement).value)} />
      <span class="muted small counter">{props.value.length} / {MAX}</span>
    </label>
  );
}

function NoteItem(props: { note: Note; refs: Refs; mine: boolean; onChange: () => void;
  ask: (text: string, action: () => Promise<unknown>) => void }) {
  const { note } = props;
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const save = (e: Event) => {
    e.preventDefault();
    if (draft === null) return;
    if (draft === note.text) return setDraft(null);
    run(async () => {
      setError(null);
      try {
        await patch(`/api/v1/notes/${note.id}`, { text: draft });
        setDraft(null);
        props.onChange();
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  const remove = () => props.ask(t("confirm_delete_note"), async () => {
    try {
      await del(`/api/v1/notes/${note.id}`);
      props.onChange();
    } catch (err) {
      setError(err as ApiError);
    }
  });
  return (
    <li class="note" data-note-id={note.id}>
      <div class="muted small">
        {userName(props.refs, note.author_id)} · {dateTime(note.created_at)}
        {note.updated_at !== note.created_at && <> · {t("note_edited")}</>}
        {props.mine && draft === null && (
          <span class="note-actions">
            <button type="button" class="link small" data-action="edit-note" onClick={() => setDraft(note.text)}>{t("edit")}</button>
            <button type="button" class="link small danger" data-action="delete-note" onClick={remove}>{t("delete")}</button>
          </span>
        )}
      </div>
      <ErrorBox error={error} />
      {draft === null ? <div class="note-text">{note.text}</div> : (
        <form onSubmit={save} class="note-edit" noValidate>
          <NoteText name="note-edit" value={draft} onValue={setDraft} autoFocus />
          <div class="actions">
            <button type="button" class="secondary small" onClick={() => setDraft(null)}>{t("cancel")}</button>
            <button type="submit" class="primary small" data-action="save-note" disabled={busy || !draft.trim()}>{t("save")}</button>
          </div>
        </form>
      )}
    </li>
  );
}

/** `onChange` runs after every add, edit and delete (the card reloads its timeline). */
export function NotesPanel(props: { entity: "deal" | "client"; id: string; refs: Refs; readOnly?: boolean; onChange: () => void }) {
  const me = useMe();
  const path = `/api/v1/${props.entity}s/${props.id}/notes`;
  const [notes, setNotes] = useState<Note[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const [loadingMore, more] = useBusy();
  const { dialog, ask } = useConfirm();
  const load = () => get<Page>(path + qs({ limit: 20 })).then((r) => { setNotes(r.items); setCursor(r.next_cursor); },
    (e) => setError(e));
  useEffect(() => {
    load();
  }, [path]);
  const changed = () => {
    load();
    props.onChange();
  };
  const add = (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    run(async () => {
      setError(null);
      try {
        await post(path, { text });
        setText("");
        changed();
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  const showMore = () => more(() => get<Page>(path + qs({ limit: 20, cursor })).then((r) => {
    setNotes((cur) => [...cur, ...r.items.filter((x) => !cur.some((c) => c.id === x.id))]);
    setCursor(r.next_cursor);
  }, (e) => setError(e)));
  const admin = !!me.role.permissions.admin;
  return (
    <div class="panel" id="notes">
      <h2>{t("notes")}</h2>
      <ErrorBox error={error} shown={["text"]} />
      {error?.fieldMessages?.().text && <div class="field-error">{error.fieldMessages().text}</div>}
      {!props.readOnly && (
        <form onSubmit={add} id="note-form" noValidate>
          <NoteText name="note" value={text} onValue={setText} />
          <div class="actions">
            <button type="submit" class="primary" id="note-save" disabled={busy || !text.trim()}>{t("add_note")}</button>
          </div>
        </form>
      )}
      <ul class="list note-list">
        {notes.map((n) => (
          <NoteItem key={n.id + n.updated_at} note={n} refs={props.refs} mine={!props.readOnly && (admin || n.author_id === me.user.id)}
            onChange={changed} ask={ask} />
        ))}
      </ul>
      {!notes.length && <p class="muted">{t("no_items")}</p>}
      {cursor && (
        <button type="button" class="secondary small" id="notes-more" disabled={loadingMore} onClick={showMore}>{t("load_more")}</button>
      )}
      {dialog}
    </div>
  );
}
