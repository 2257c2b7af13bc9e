// Settings → Users and rights: groups with their users (rename, delete), "+ Create new user", each user edited,
// deactivated (the seat is freed) or reactivated, and roles with permission toggles.
import { useEffect, useState } from "preact/hooks";
import { ApiError, del, get, patch, post } from "../api";
import { t } from "../i18n";
import { can, fullName, useMe, type User } from "../session";
import { dateTime, ErrorBox, Modal, NameDialog, SelectField, TextField, useBusy, useConfirm, PERSON_MAX } from "../ui";
import { EditUser, type Group, RenameDialog, type Role, RolesPanel, useSeats } from "./users_admin";

export { PERMISSIONS } from "./users_admin";

export function UsersAndRights() {
  const me = useMe();
  const [groups, setGroups] = useState<Group[]>([]);
  const [roles, setRoles] = useState<Role[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [groupId, setGroupId] = useState("");
  const [creating, setCreating] = useState(false);
  const [changing, setChanging] = useState(false);
  const [editing, setEditing] = useState<User | null>(null);
  const [renaming, setRenaming] = useState<Group | null>(null);
  const [showInactive, setShowInactive] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const { seats, follow, refresh } = useSeats();
  const { dialog, ask } = useConfirm();
  const manager = can(me, "manage_users");

  const load = async () => {
    try {
      const [g, r, u] = await Promise.all([
        get<{ items: Group[] }>("/api/v1/groups"),
        get<{ items: Role[] }>("/api/v1/roles"),
        get<{ items: User[] }>("/api/v1/users?include_inactive=true"),
      ]);
      setGroups(g.items);
      setRoles(r.items);
      setUsers(u.items);
      refresh();
      setGroupId((cur) => (g.items.some((x) => x.id === cur) ? cur : g.items[0]?.id || ""));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);

  const [naming, setNaming] = useState(false);
  const addGroup = async (name: string) => {
    const g = await post<Group>("/api/v1/groups", { name });
    await load();
    setGroupId(g.id);
  };
  const removeGroup = (g: Group) => ask(t("confirm_delete_group", { name: g.name }), async () => {
    setError(null);
    setNotice("");
    try {
      await del(`/api/v1/groups/${g.id}`);
    } catch (e) {
      setError(e); // 409 group_not_empty says how many users are still in it
    }
    await load();
  });
  // A user's seat: deactivating frees it, reactivating takes it again (billing counts it within seconds).
  const deactivate = (u: User) => ask(t("confirm_deactivate", { name: fullName(u) }), async () => {
    setError(null);
    setNotice("");
    try {
      await del(`/api/v1/users/${u.id}`);
      setNotice(t("user_deactivated", { name: fullName(u) }));
      follow();
    } catch (e) {
      setError(e);
    }
    await load();
  }, t("deactivate"));
  const reactivate = async (u: User) => {
    setError(null);
    setNotice("");
    try {
      await post(`/api/v1/users/${u.id}/activate`);
      setNotice(t("user_reactivated", { name: fullName(u) }));
      follow();
    } catch (e) {
      setError(e);
    }
    await load();
  };

  const roleName = (id: string) => roles.find((r) => r.id === id)?.name ?? "";
  const shown = users.filter((u) => u.group_id === groupId && (showInactive || u.active));
  return (
    <div id="users-rights">
      <div class="panel-head">
        <h1>{t("settings_users")}</h1>
        <button type="button" class="secondary small" id="change-password" onClick={() => setChanging(true)}>
          {t("change_password")}
        </button>
      </div>
      {seats !== null && <p class="muted" id="seats-in-use" data-seats={seats}>{t("seats_in_use", { n: seats })}</p>}
      <div id="users-error"><ErrorBox error={error} /></div>
      {notice && <div class="alert success" id="notice">{notice}</div>}
      {dialog}
      <div class="two-cols">
        <div class="panel">
          <div class="panel-head">
            <h2>{t("groups")}</h2>
            {manager && (
              <button type="button" class="secondary small" id="add-group" onClick={() => setNaming(true)}>{t("add_group")}</button>
            )}
          </div>
          <ul class="list" id="groups">
            {groups.map((g) => (
              <li key={g.id} class="group-row">
                <button type="button" class={`list-item${g.id === groupId ? " active" : ""}`} data-group={g.name}
                  onClick={() => setGroupId(g.id)}>
                  <span>{g.name}</span>
                  <span class="badge">{users.filter((u) => u.group_id === g.id && u.active).length}</span>
                </button>
                {manager && g.id === groupId && (
                  <span class="row-actions">
                    <button type="button" class="secondary small" data-action="rename-group"
                      onClick={() => setRenaming(g)}>{t("rename")}</button>
                    <button type="button" class="secondary small" data-action="delete-group"
                      onClick={() => removeGroup(g)}>{t("delete")}</button>
                  </span>
                )}
              </li>
            ))}
          </ul>
        </div>
        <div class="panel grow">
          <div class="panel-head">
            <h2>{t("users")}</h2>
            <label class="check">
              <input type="checkbox" id="show-inactive" checked={showInactive}
                onChange={(e) => setShowInactive((e.target as HTMLInputElement).checked)} />
              {t("show_inactive")}
            </label>
            {manager && (
              <button type="button" class="primary" id="create-user" onClick={() => setCreating(true)}>
                {t("create_user")}
              </button>
            )}
          </div>
          {shown.length ? (
            <div class="table-wrap"><table class="table" id="users-table">
              <thead>
                <tr>
                  <th>{t("name")}</th><th>{t("email")}</th><th>{t("role")}</th>
                  {manager && <th>{t("user_actions")}</th>}
                </tr>
              </thead>
              <tbody>
                {shown.map((u) => (
                  <UserRow key={u.id} user={u} role={roleName(u.role_id)} manager={manager} own={u.id === me.user.id}
                    onEdit={() => setEditing(u)} onDeactivate={() => deactivate(u)} onReactivate={() => reactivate(u)} />
                ))}
              </tbody>
            </table></div>
          ) : (
            <p class="muted">{t("no_users")}</p>
          )}
        </div>
      </div>
      {naming && <NameDialog title={t("add_group")} label={t("group_name")} id="group-dialog"
        onClose={() => setNaming(false)} onSubmit={addGroup} />}
      {renaming && <RenameDialog title={t("rename_group")} label={t("group_name")} initial={renaming.name}
        id="rename-group-dialog" onClose={() => setRenaming(null)}
        onSubmit={async (name) => {
          await patch(`/api/v1/groups/${renaming.id}`, { name });
          await load();
        }} />}
      <RolesPanel roles={roles} onChange={load} editable={can(me, "manage_roles")} />
      {changing && me && (
        <ChangePassword userId={me.user.id} onClose={() => setChanging(false)}
          onDone={() => {
            setChanging(false);
            setNotice(t("password_changed"));
          }} />
      )}
      {creating && (
        <CreateUser groups={groups} roles={roles} groupId={groupId} onClose={() => setCreating(false)}
          onCreated={async (u) => {
            setCreating(false);
            setNotice(`${t("user_created")}: ${fullName(u)}`);
            follow();
            await load();
            setGroupId(u.group_id);
          }} />
      )}
      {editing && (
        <EditUser user={editing} own={editing.id === me.user.id} groups={groups} roles={roles}
          onClose={() => setEditing(null)}
          onSaved={async (u) => {
            setEditing(null);
            setNotice(t("user_saved", { name: fullName(u) }));
            await load();
            setGroupId(u.group_id);
          }} />
      )}
    </div>
  );
}

/** One user: edit, deactivate (asks first) or reactivate, each button disabled while its request runs. */
function UserRow(props: { user: User; role: string; manager: boolean; own: boolean; onEdit: () => void;
  onDeactivate: () => void; onReactivate: () => Promise<void> }) {
  const u = props.user;
  const [busy, run] = useBusy();
  return (
    <tr data-user={u.email} class={u.active ? "" : "inactive"}>
      <td>
        {fullName(u)}
        {!u.active && <span class="badge muted" data-inactive="true">{t("inactive_badge")}</span>}
      </td>
      <td>{u.email}</td>
      <td>{props.role}</td>
      {props.manager && (
        <td class="row-actions">
          <button type="button" class="secondary small" data-action="edit-user" onClick={props.onEdit}>
            {t("edit")}
          </button>
          {u.active && !props.own && (
            <button type="button" class="secondary small" data-action="deactivate-user" onClick={props.onDeactivate}>
              {t("deactivate")}
            </button>
          )}
          {!u.active && (
            <button type="button" class="secondary small" data-action="reactivate-user" disabled={busy}
              onClick={() => run(props.onReactivate)}>
              {t("reactivate")}
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

function CreateUser(props: { groups: Group[]; roles: Role[]; groupId: string; onClose: () => void;
  onCreated: (u: User) => void }) {
  const defaultRole = props.roles.find((r) => !r.permissions.admin) ?? props.roles[0];
  const [form, setForm] = useState({ first_name: "", last_name: "", email: "", password: "",
    role_id: defaultRole?.id ?? "", group_id: props.groupId });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState("");
  useEffect(() => {
    // F6: another user spreads the prepaid value over one more seat
    get<{ preview: { paid_until_with_one_more_user: string } }>("/api/v1/billing")
      .then((b) => setPreview(b.preview.paid_until_with_one_more_user), () => undefined);
  }, []);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await post<User>("/api/v1/users", form));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const fe = error?.fieldMessages?.() ?? {};
  return (
    <Modal title={t("new_user")} onClose={props.onClose} id="create-user-dialog">
      <form onSubmit={submit} id="create-user-form" noValidate>
        <TextField label={t("first_name")} name="first_name" value={form.first_name} onValue={set("first_name")}
          maxLength={PERSON_MAX} error={fe.first_name} />
        <TextField label={t("last_name")} name="last_name" value={form.last_name} onValue={set("last_name")}
          maxLength={PERSON_MAX} error={fe.last_name} />
        <TextField label={t("email")} name="email" type="email" value={form.email} onValue={set("email")}
          maxLength={PERSON_MAX} error={fe.email} />
        <TextField label={t("password")} name="password" type="password" autoComplete="new-password"
          maxLength={PERSON_MAX} value={form.password} onValue={set("password")} error={fe.password} />
        <span class="hint muted" id="password-rule">{t("password_rule")}</span>
        <SelectField label={t("role")} name="role_id" value={form.role_id} onValue={set("role_id")} error={fe.role_id}
          options={props.roles.map((r) => ({ value: r.id, label: r.name }))} />
        <SelectField label={t("group")} name="group_id" value={form.group_id} onValue={set("group_id")}
          error={fe.group_id} options={props.groups.map((g) => ({ value: g.id, label: g.name }))} />
        <ErrorBox error={error} shown={["first_name", "last_name", "email", "password", "role_id", "group_id"]} />
        {preview && <p class="muted" id="seat-preview">{t("preview_more")}: {dateTime(preview)}</p>}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id="create-user-submit">{t("add")}</button>
        </div>
      </form>
    </Modal>
  );
}

// One's own password: the current one is asked for (403 current_password_invalid without it), and the
// other sessions end; this one goes on.
function ChangePassword(props: { userId: string; onClose: () => void; onDone: () => void }) {
  const [form, setForm] = useState({ current_password: "", password: "", repeat: "" });
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (form.password !== form.repeat) {
      setError(new Error(t("passwords_differ")));
      return;
    }
    setBusy(true);
    try {
      await patch(`/api/v1/users/${props.userId}`, { password: form.password, current_password: form.current_password });
      props.onDone();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const fe = error instanceof ApiError ? error.fieldMessages() : {};
  if (error instanceof ApiError && error.code === "current_password_invalid") fe.current_password = error.message;
  return (
    <Modal title={t("change_password")} onClose={props.onClose} id="change-password-dialog">
      <form onSubmit={submit} id="change-password-form" noValidate>
        <TextField label={t("current_password")} name="current_password" type="password"
          autoComplete="current-password" value={form.current_password} onValue={set("current_password")}
          error={fe.current_password} />
        <TextField label={t("new_password")} name="password" type="password" autoComplete="new-password"
          maxLength={PERSON_MAX} value={form.password} onValue={set("password")} error={fe.password} />
        <span class="hint muted">{t("password_rule")}</span>
        <TextField label={t("repeat_password")} name="repeat" type="password" autoComplete="new-password"
          maxLength={PERSON_MAX} value={form.repeat} onValue={set("repeat")} />
        {!fe.current_password && <ErrorBox error={error} shown={["password", "current_password"]} />}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id="change-password-submit">{t("save")}</button>
        </div>
      </form>
    </Modal>
  );
}
