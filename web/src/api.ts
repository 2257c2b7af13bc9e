// The gateway's public API: JSON over fetch, bearer tokens kept in sessionStorage (never in URLs).
import { lang, t } from "./i18n";

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  status: number;
  code: string;
  details: Record<string, any>;

  constructor(status: number, code: string, message: string, details: Record<string, any>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details ?? {};
  }

  /** Field errors as field -> message; a conflict naming one field (e.g. email_taken) counts too. */
  fieldMessages(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of (this.details.fields ?? []) as FieldError[]) {
      const name = f.field.split(".").slice(-1)[0];
      out[f.field] = f.message;
      if (!(name in out)) out[name] = f.message;
    }
    if (typeof this.details.field === "string") out[this.details.field] = this.message;
    return out;
  }
}

const STORE = "crm.tokens";
let authListeners: Array<() => void> = [];

export function tokens(): Tokens | null {
  try {
    const raw = sessionStorage.getItem(STORE);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

export function setTokens(next: Tokens | null): void {
  if (next) sessionStorage.setItem(STORE, JSON.stringify({ access_token: next.access_token, refresh_token: next.refresh_token }));
  else sessionStorage.removeItem(STORE);
  authListeners.forEach((fn) => fn());
}

export function onAuthChange(fn: () => void): () => void {
  authListeners.push(fn);
  return () => {
    authListeners = authListeners.filter((x) => x !== fn);
  };
}

let refreshing: Promise<boolean> | null = null;

async function refresh(): Promise<boolean> {
  const current = tokens();
  if (!current) return false;
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const resp = await fetch("/api/v1/auth/refresh", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept-Language": lang() },
          body: JSON.stringify({ refresh_token: current.refresh_token }),
        });
        if (!resp.ok) return false;
        setTokens((await resp.json()) as Tokens);
        return true;
      } catch {
        return false;
      } finally {
        setTimeout(() => (refreshing = null), 0);
      }
    })();
  }
  return refreshing;
}

export async function request<T = any>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const headers: Record<string, string> = { "Accept-Language": lang(), Accept: "application/json" };
  const auth = tokens();
  if (auth) headers.Authorization = `Bearer ${auth.access_token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", t("network_error"), {});
  }
  if (resp.status === 401 && auth && retry && !path.startsWith("/api/v1/auth/")) {
    if (await refresh()) return request<T>(method, path, body, false);
    setTokens(null);
  }
  if (resp.status === 204) return undefined as T;
  let data: any = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = data?.error ?? {};
    throw new ApiError(resp.status, err.code ?? "http_" + resp.status, err.message ?? t("network_error"), err.details ?? {});
  }
  return data as T;
}

export const get = <T = any>(path: string) => request<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});
export const put = <T = any>(path: string, body: unknown) => request<T>("PUT", path, body);
export const patch = <T = any>(path: string, body: unknown) => request<T>("PATCH", path, body);
export const del = <T = any>(path: string) => request<T>("DELETE", path);

export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
}

export async function logout(): Promise<void> {
  const current = tokens();
  setTokens(null);
  if (current) {
    try {
      await post("/api/v1/auth/logout", { refresh_token: current.refresh_token });
    } catch {
      /* the session ends locally anyway */
    }
  }
}
