// User administration pieces of Settings → Users and rights: the edit-user dialog, renaming, the roles panel
// (rename, delete, permission toggles) and the seat count that follows billing after a (de)activation.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post } from "../api";
import { t, type TextKey } from "../i18n";
import { type Permissions, type User } from "../session";
import { ErrorBox, Modal, NameDialog, SelectField, TextField, useBusy, useConfirm, PERSON_MAX } from "../ui";

export interface Group {
  id: string;
  name: string;
  user_count: number;
}

export interface Role {
  id: string;
  name: string;
  system: boolean;
  permissions: Permissions;
}

export const PERMISSIONS = [
  "admin", "edit_phone", "manage_users", "manage_funnels", "manage_processes", "restore_records", "manage_roles",
  "manage_billing", "view_reports",
] as const;

/** Billing's count of seats in use (its active users); `follow()` re-reads it for a few seconds after a user is
 * deactivated or reactivated, until billing (which learns it from identity's events) has counted the change. */
export function useSeats(): { seats: number | null; follow: () => void; refresh: () => void } {
  const [seats, setSeats] = useState<number | null>(null);
  const read = () => get<{ active_users: number }>("/api/v1/billing").then((b) => b.active_users, () => null);
  const refresh = () => {
    read().then(setSeats);
  };
  useEffect(refresh, []);
  const follow = async () => {
    const before = await read();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const now = await read();
      setSeats(now);
      if (now !== before) return;
    }
  };
  return { seats, follow, refresh };
}

/** A dialog that renames something: the current name to edit, the API's error on the field. */
export function RenameDialog(props: { title: string; label: string; initial: string; id?: string;
  onClose: () => void; onSubmit: (name: string) => Promise<void> }) {
  return <NameDialog {...props} submit={t("save")} submitId="rename-submit" />;
}

/** Edit a user's names, e-mail, role and group: only what changed is sent (one's own e-mail asks for the
 * current password, as the API does). */
export function EditUser(props: { user: User; own: boolean; groups: Group[]; roles: Role[]; onClose: () => void;
  onSaved: (u: User) => void }) {
  const u = props.user;
  const [form, setForm] = useState({ first_name: u.first_name, last_name: u.last_name, email: u.email,
    role_id: u.role_id, group_id: u.group_id, current_password: "" });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, run] = useBusy();
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const ownEmail = props.own && form.email !== u.email;
  const submit = (e: Event) => {
    e.preventDefault();
    setError(null);
    const changes: Record<string, string> = {};
    for (const k of ["first_name", "last_name", "email", "role_id", "group_id"] as const) {
      if (form[k] !== u[k]) changes[k] = form[k];
    }
    if (ownEmail) changes.current_password = form.current_password;
    run(async () => {
      try {
        props.onSaved(Object.keys(changes).length ? await patch<User>(`/api/v1/users/${u.id}`, changes) : u);
      } catch (err) {
        setError(err as ApiError);
      }
    });
  };
  const fe = error?.fieldMessages?.() ?? {};
  if (error?.code === "current_password_invalid") fe.current_password = error.message;
  const shown = ["first_name", "last_name", "email", "role_id", "group_id", "current_password"];
  return (
    <Modal title={t("edit_user")} onClose={props.onClose} id="edit-user-dialog">
      <form onSubmit={submit} id="edit-user-form" noValidate>
        <TextField label={t("first_name")} name="first_name" value={form.first_name} onValue={set("first_name")}
          maxLength={PERSON_MAX} error={fe.first_name} />
        <TextField label={t("last_name")} name="last_name" value={form.last_name} onValue={set("last_name")}
          maxLength={PERSON_MAX} error={fe.last_name} />
        <TextField label={t("email")} name="email" type="email" value={form.email} onValue={set("email")}
          maxLength={PERSON_MAX} error={fe.email} />
        {ownEmail && (
          <TextField label={t("current_password")} name="current_password" type="password"
            autoComplete="current-password" value={form.current_password} onValue={set("current_password")}
            error={fe.current_password} />
        )}
        <SelectField label={t("role")} name="role_id" value={form.role_id} onValue={set("role_id")} error={fe.role_id}
          options={props.roles.map((r) => ({ value: r.id, label: r.name }))} />
        <SelectField label={t("group")} name="group_id" value={form.group_id} onValue={set("group_id")}
          error={fe.group_id} options={props.groups.map((g) => ({ value: g.id, label: g.name }))} />
        {!fe.current_password && <ErrorBox error={error} shown={shown} />}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id="edit-user-submit">{t("save")}</button>
        </div>
      </form>
    </Modal>
  );
}

/** Roles with their permission toggles; a role manager adds, renames and deletes roles (a role still held
 * answers 409 role_in_use with how many users, shown as the server says it). */
export function RolesPanel({ roles, onChange, editable }: { roles: Role[]; onChange: () => void; editable: boolean }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, run] = useBusy();
  const { dialog, ask } = useConfirm();
  const toggle = (role: Role, perm: string, value: boolean) => run(async () => {
    setError(null);
    try {
      await patch(`/api/v1/roles/${role.id}`, { permissions: { ...role.permissions, [perm]: value } });
    } catch (e) {
      setError(e);
    }
    onChange();
  });
  const [naming, setNaming] = useState(false);
  const [renaming, setRenaming] = useState<Role | null>(null);
  const addRole = async (name: string) => {
    await post("/api/v1/roles", { name, permissions: {} });
    onChange();
  };
  const remove = (role: Role) => ask(t("confirm_delete_role", { name: role.name }), async () => {
    setError(null);
    try {
      await del(`/api/v1/roles/${role.id}`);
    } catch (e) {
      setError(e);
    }
    onChange();
  });
  return (
    <div class="panel" id="roles">
      <div class="panel-head">
        <h2>{t("roles")}</h2>
        {editable && <button type="button" class="secondary small" id="add-role" onClick={() => setNaming(true)}>{t("add_role")}</button>}
      </div>
      <div id="roles-error"><ErrorBox error={error} /></div>
      {naming && <NameDialog title={t("add_role")} label={t("role_new_name")} id="role-dialog"
        onClose={() => setNaming(false)} onSubmit={addRole} />}
      {renaming && <RenameDialog title={t("rename_role")} label={t("role_new_name")} initial={renaming.name}
        id="rename-role-dialog" onClose={() => setRenaming(null)}
        onSubmit={async (name) => {
          await patch(`/api/v1/roles/${renaming.id}`, { name });
          onChange();
        }} />}
      {dialog}
      <div class="table-wrap">
        <table class="table roles-table">
          <thead>
            <tr>
              <th>{t("role_name")}</th>
              {PERMISSIONS.map((p) => <th key={p}>{t(`perm_${p}` as TextKey)}</th>)}
            </tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <tr key={r.id} data-role={r.name}>
                <td class="role-name">
                  {r.name}
                  {editable && (
                    <span class="row-actions">
                      <button type="button" class="icon" data-action="rename-role" title={t("rename")}
                        aria-label={t("rename")} onClick={() => setRenaming(r)}>✎</button>
                      {!r.system && (
                        <button type="button" class="icon" data-action="delete-role" title={t("delete")}
                          aria-label={t("delete")} onClick={() => remove(r)}>×</button>
                      )}
                    </span>
                  )}
                </td>
                {PERMISSIONS.map((p) => (
                  <td key={p}>
                    <label class="toggle">
                      <input type="checkbox" data-perm={p} checked={!!r.permissions[p]}
                        aria-label={`${t(`perm_${p}` as TextKey)}: ${r.name}`}
                        disabled={!editable || busy || (r.system && p === "admin")}
                        onChange={(e) => toggle(r, p, (e.target as HTMLInputElement).checked)} />
                      <span class="slider" />
                    </label>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
