// The signed-in user's context (GET /api/v1/me) shared by every screen.
import { createContext } from "preact";
import { useContext } from "preact/hooks";

export interface Permissions {
  admin: boolean;
  edit_phone: boolean;
  manage_users: boolean;
  manage_funnels: boolean;
  manage_processes: boolean;
  restore_records: boolean;
  manage_roles: boolean;
  manage_billing: boolean;
  view_reports: boolean;
  [key: string]: boolean;
}

export interface User {
  id: string;
  first_name: string;
  last_name: string;
  email: string;
  role_id: string;
  group_id: string;
  active: boolean;
}

export interface Me {
  user: User;
  role: { id: string; name: string; permissions: Permissions; system: boolean };
  company: { id: string; name: string; crm_id: string };
}

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  return useContext(MeContext)!;
}

export function can(me: Me, perm: string): boolean {
  return !!(me.role.permissions.admin || me.role.permissions[perm]);
}

export function fullName(u: { first_name: string; last_name: string } | null | undefined): string {
  return u ? `${u.first_name} ${u.last_name}`.trim() : "";
}
