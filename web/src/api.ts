// The gateway's public API: JSON over fetch. The access token is kept in sessionStorage (never in URLs); the
// refresh token never reaches scripts: the gateway keeps it in an httpOnly, SameSite=Strict cookie scoped to
// /api/v1/auth (`refresh_cookie: true` at login and sign-up), so a new tab or a reload resumes the session by
// a refresh.
import { lang, t } from "./i18n";

export interface Tokens {
  access_token: string;
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
  if (next) sessionStorage.setItem(STORE, JSON.stringify({ access_token: next.access_token }));
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

/** A new access token from the session's cookie. Rotation makes a refresh token single-use (a reuse ends the
 * session), so the refreshes of every tab of the browser take turns under one Web Lock: each sends the cookie
 * the previous one left. */
export async function refresh(): Promise<boolean> {
  if (!refreshing) {
    const once = async () => {
      try {
        const resp = await fetch("/api/v1/auth/refresh", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept-Language": lang() },
          body: "{}",
        });
        if (!resp.ok) return false;
        setTokens((await resp.json()) as Tokens);
        return true;
      } catch {
        return false;
      }
    };
    const locks = (navigator as any).locks;
    refreshing = (locks ? (locks.request("crm.refresh", once) as Promise<boolean>) : once()).finally(() =>
      setTimeout(() => (refreshing = null), 0));
  }
  return refreshing;
}

/** A fresh idempotency key (a UUID) for one user action. */
export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One user action's request. POST and PATCH (but the auth endpoints) carry an `Idempotency-Key`, fresh per
 * call and the same on this function's own retries (after a token refresh, after a network failure). */
export async function request<T = any>(method: string, path: string, body?: unknown, retry = true,
  idemKey?: string): Promise<T> {
  const headers: Record<string, string> = { "Accept-Language": lang(), Accept: "application/json" };
  const auth = tokens();
  if (auth) headers.Authorization = `Bearer ${auth.access_token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const key = idemKey ?? ((method === "POST" || method === "PATCH") && !path.startsWith("/api/v1/auth/") ? newKey() : undefined);
  if (key) headers["Idempotency-Key"] = key;
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    if (key && retry) return request<T>(method, path, body, false, key); // once more, the same key
    throw new ApiError(0, "network", t("network_error"), {});
  }
  if (resp.status === 401 && auth && retry && !path.startsWith("/api/v1/auth/")) {
    if (await refresh()) return request<T>(method, path, body, false, key);
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

/** Ends the session: identity revokes it and the gateway clears the cookie. */
export async function logout(): Promise<void> {
  try {
    await post("/api/v1/auth/logout", {});
  } catch {
    /* the session ends locally anyway */
  }
  setTokens(null);
}
