// Settings → Users and rights: groups with their users, "+ Create new user", roles with permission toggles.
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, patch, post } from "../api";
import { t, type TextKey } from "../i18n";
import { can, fullName, useMe, type Permissions, type User } from "../session";
import { dateTime, ErrorBox, Modal, NameDialog, SelectField, TextField } from "../ui";

interface Group {
  id: string;
  name: string;
  user_count: number;
}

interface Role {
  id: string;
  name: string;
  system: boolean;
  permissions: Permissions;
}

export const PERMISSIONS = [
  "admin", "edit_phone", "manage_users", "manage_funnels", "manage_processes", "restore_records", "manage_roles",
  "manage_billing",
] as const;

export function UsersAndRights() {
  const me = useMe();
  const [groups, setGroups] = useState<Group[]>([]);
  const [roles, setRoles] = useState<Role[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [groupId, setGroupId] = useState("");
  const [creating, setCreating] = useState(false);
  const [changing, setChanging] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");

  const load = async () => {
    try {
      const [g, r, u] = await Promise.all([
        get<{ items: Group[] }>("/api/v1/groups"),
        get<{ items: Role[] }>("/api/v1/roles"),
        get<{ items: User[] }>("/api/v1/users"),
      ]);
      setGroups(g.items);
      setRoles(r.items);
      setUsers(u.items);
      setGroupId((cur) => cur || g.items[0]?.id || "");
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

  const roleName = (id: string) => roles.find((r) => r.id === id)?.name ?? "";
  const shown = users.filter((u) => u.group_id === groupId);
  return (
    <div id="users-rights">
      <div class="panel-head">
        <h1>{t("settings_users")}</h1>
        <button type="button" class="secondary small" id="change-password" onClick={() => setChanging(true)}>
          {t("change_password")}
        </button>
      </div>
      <ErrorBox error={error} />
      {notice && <div class="alert success" id="notice">{notice}</div>}
      <div class="two-cols">
        <div class="panel">
          <div class="panel-head">
            <h2>{t("groups")}</h2>
            {can(me, "manage_users") && (
              <button type="button" class="secondary small" id="add-group" onClick={() => setNaming(true)}>{t("add_group")}</button>
            )}
          </div>
          <ul class="list" id="groups">
            {groups.map((g) => (
              <li key={g.id}>
                <button type="button" class={`list-item${g.id === groupId ? " active" : ""}`} data-group={g.name}
                  onClick={() => setGroupId(g.id)}>
                  <span>{g.name}</span>
                  <span class="badge">{users.filter((u) => u.group_id === g.id).length}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
        <div class="panel grow">
          <div class="panel-head">
            <h2>{t("users")}</h2>
            {can(me, "manage_users") && (
              <button type="button" class="primary" id="create-user" onClick={() => setCreating(true)}>
                {t("create_user")}
              </button>
            )}
          </div>
          {shown.length ? (
            <table class="table" id="users-table">
              <thead>
                <tr><th>{t("name")}</th><th>{t("email")}</th><th>{t("role")}</th></tr>
              </thead>
              <tbody>
                {shown.map((u) => (
                  <tr key={u.id}>
                    <td>{fullName(u)}</td>
                    <td>{u.email}</td>
                    <td>{roleName(u.role_id)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">{t("no_users")}</p>
          )}
        </div>
      </div>
      {naming && <NameDialog title={t("add_group")} label={t("group_name")} id="group-dialog"
        onClose={() => setNaming(false)} onSubmit={addGroup} />}
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
            await load();
            setGroupId(u.group_id);
          }} />
      )}
    </div>
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
          error={fe.first_name} />
        <TextField label={t("last_name")} name="last_name" value={form.last_name} onValue={set("last_name")}
          error={fe.last_name} />
        <TextField label={t("email")} name="email" type="email" value={form.email} onValue={set("email")}
          error={fe.email} />
        <TextField label={t("password")} name="password" type="password" autoComplete="new-password"
          value={form.password} onValue={set("password")} error={fe.password} />
        <span class="hint muted" id="password-rule">{t("password_rule")}</span>
        <SelectField label={t("role")} name="role_id" value={form.role_id} onValue={set("role_id")} error={fe.role_id}
          options={props.roles.map((r) => ({ value: r.id, label: r.name }))} />
        <SelectField label={t("group")} name="group_id" value={form.group_id} onValue={set("group_id")}
          error={fe.group_id} options={props.groups.map((g) => ({ value: g.id, label: g.name }))} />
        <ErrorBox error={error} shown={["first_name", "last_name", "email", "password", "role_id", "group_id"]} />
        {preview && <p class="muted" id="seat-preview">{t("preview_more")}: {dateTime(preview)}</p>}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id="create-user-submit">{t("create")}</button>
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
          value={form.password} onValue={set("password")} error={fe.password} />
        <span class="hint muted">{t("password_rule")}</span>
        <TextField label={t("repeat_password")} name="repeat" type="password" autoComplete="new-password"
          value={form.repeat} onValue={set("repeat")} />
        {!fe.current_password && <ErrorBox error={error} shown={["password", "current_password"]} />}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onClose}>{t("cancel")}</button>
          <button type="submit" class="primary" disabled={busy} id="change-password-submit">{t("save")}</button>
        </div>
      </form>
    </Modal>
  );
}

function RolesPanel({ roles, onChange, editable }: { roles: Role[]; onChange: () => void; editable: boolean }) {
  const [error, setError] = useState<unknown>(null);
  const toggle = async (role: Role, perm: string, value: boolean) => {
    setError(null);
    try {
      await patch(`/api/v1/roles/${role.id}`, { permissions: { ...role.permissions, [perm]: value } });
    } catch (e) {
      setError(e);
    }
    onChange();
  };
  const [naming, setNaming] = useState(false);
  const addRole = async (name: string) => {
    await post("/api/v1/roles", { name, permissions: {} });
    onChange();
  };
  return (
    <div class="panel" id="roles">
      <div class="panel-head">
        <h2>{t("roles")}</h2>
        {editable && <button type="button" class="secondary small" id="add-role" onClick={() => setNaming(true)}>{t("add_role")}</button>}
      </div>
      <ErrorBox error={error} />
      {naming && <NameDialog title={t("add_role")} label={t("role_new_name")} id="role-dialog"
        onClose={() => setNaming(false)} onSubmit={addRole} />}
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
                <td>{r.name}</td>
                {PERMISSIONS.map((p) => (
                  <td key={p}>
                    <label class="toggle">
                      <input type="checkbox" data-perm={p} checked={!!r.permissions[p]}
                        disabled={!editable || (r.system && p === "admin")}
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
