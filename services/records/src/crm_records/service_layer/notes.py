"""Note use cases: notes on deals and clients (add, list newest first, edit, delete).

A note is an entry of its record's timeline: adding one writes history `note_added` (its id and text),
an edit `note_updated` (the old and the new text), a delete `note_deleted` (its id only: the deleted
text is not kept a second time). Adding one publishes NoteCreated (webhooks' `note.created`) in the same
transaction. Only the author or an admin edits or deletes a note; a note of a deleted record is
read-only (409 `record_deleted`) until the record is restored, as the record itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.records.events.v1 import records_events_pb2 as ev
from crm_platform.context import Principal
from crm_platform.db import utcnow
from crm_platform.errors import FieldCollector, FieldErrors, PermissionDenied
from crm_platform.pagination import keyset_page
from crm_platform.uow import UnitOfWork
from crm_records.adapters.orm import Note
from crm_records.domain import model
from crm_records.service_layer.kinds import KINDS, SOURCES, Kind
from crm_records.service_layer.writes import RecordsBase, fingerprint, new_id, source_of


def note_snapshot(n: Note) -> ev.NoteSnapshot:
    return ev.NoteSnapshot(id=n.id, entity=n.entity, record_id=n.record_id, text=n.text, author_id=n.author_id,
                           created_at=model.iso(n.created_at))


def _kind(entity: str) -> Kind:
    kind = KINDS.get(entity)
    if kind is None:
        raise FieldErrors([{"field": "entity", "code": "invalid_choice", "params": {"options": ", ".join(KINDS)}}])
    return kind


def _text(text: str) -> str:
    """The note's text, trimmed: 1 to NOTE_MAX characters (`required`, `too_long`)."""
    errors = FieldCollector()
    text = model.check_text(errors, "text", text, max_len=model.NOTE_MAX)
    errors.raise_if_any()
    return text


class NoteUseCases(RecordsBase):
    def create_note(self, p: Principal, entity: str, record_id: str, text: str) -> Note:
        """Add a note to a deal or a client (at most once per idempotency key)."""
        kind = _kind(entity)
        text = _text(text)

        def work(uow: UnitOfWork) -> str:
            s = uow.session
            # locked: a note is never added to a record a concurrent request is deleting
            self._writable(self._one(s, kind.model, record_id, kind.not_found, kind.label, lock=True))
            now, src = utcnow(), source_of(p)
            note = Note(id=new_id(), company_id=p.company_id, entity=kind.name, record_id=record_id, text=text,
                        author_id=p.user_id, created_at=now, updated_at=now)
            s.add(note)
            self._history(s, p, kind.name, record_id, src, "note_added",
                          [{"field": "note", "old": None, "new": note.id}, {"field": "text", "old": None, "new": text}],
                          now)
            uow.publish(note.id, ev.NoteCreated(note=note_snapshot(note), source=SOURCES[src]))
            return note.id

        digest = fingerprint(entity=kind.name, record_id=record_id, text=text)
        return self.get_note(p, self._create_once(p, "CreateNote", "", digest, work))

    def get_note(self, p: Principal, note_id: str) -> Note:
        with self.db.session(company_id=p.company_id) as s:
            return self._one(s, Note, note_id, "note_not_found", "Note")

    def list_notes(self, p: Principal, entity: str, record_id: str, limit: int = 50,
                   cursor: str = "") -> tuple[list[Note], str]:
        """A page of a deal's or a client's notes, newest first (the record may be deleted: it still opens)."""
        kind = _kind(entity)
        with self.db.session(company_id=p.company_id) as s:
            self._one(s, kind.model, record_id, kind.not_found, kind.label)
            stmt = select(Note).where(Note.entity == kind.name, Note.record_id == record_id)
            return keyset_page(s, stmt, Note, {"created_at": Note.created_at}, "-created_at", cursor, limit)

    def _changeable(self, s: Session, p: Principal, note_id: str) -> Note:
        """The note, locked, when the caller may change it: its author or an admin, its record not deleted."""
        note = self._one(s, Note, note_id, "note_not_found", "Note", lock=True)
        if note.author_id != p.user_id and not p.can("admin"):
            raise PermissionDenied("note_author_only", "Only the note's author or an administrator can change it",
                                   permission="admin")
        kind = KINDS[note.entity]
        self._writable(self._one(s, kind.model, note.record_id, kind.not_found, kind.label))
        return note

    def update_note(self, p: Principal, note_id: str, text: str) -> Note:
        """Edit a note's text (its author or an admin); the same text again changes nothing."""
        text = _text(text)
        with self.units.of(p) as uow:
            s = uow.session
            note = self._changeable(s, p, note_id)
            if note.text != text:
                now = utcnow()
                self._history(s, p, note.entity, note.record_id, source_of(p), "note_updated",
                              [{"field": "note", "old": note.id, "new": note.id},
                               {"field": "text", "old": note.text, "new": text}], now)
                note.text, note.updated_at = text, now
            return note

    def delete_note(self, p: Principal, note_id: str) -> Note:
        """Remove a note (its author or an admin)."""
        with self.units.of(p) as uow:
            s = uow.session
            note = self._changeable(s, p, note_id)
            self._history(s, p, note.entity, note.record_id, source_of(p), "note_deleted",
                          [{"field": "note", "old": note.id, "new": None}], utcnow())
            s.delete(note)
            return note
