// Login (with the CRM ID choice), forgot password, reset password (token in the URL fragment).
import { useEffect, useState } from "preact/hooks";
import { ApiError, post, setTokens, type Tokens } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { ErrorBox, LangSwitch, Link, TextField } from "../ui";

function AuthFrame(props: { title: string; children: any; id: string }) {
  return (
    <div class="auth-page" id={props.id}>
      <div class="auth-card">
        <div class="auth-head">
          <span class="brand">{t("app")}</span>
          <LangSwitch />
        </div>
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </div>
  );
}

interface Choice {
  crm_id: string;
  company_name: string;
}

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [choices, setChoices] = useState<Choice[] | null>(null);
  const [crmId, setCrmId] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = { email, password };
      if (choices && crmId) body.crm_id = crmId;
      const tokens = await post<Tokens>("/api/v1/auth/login", body);
      setTokens(tokens);
      const next = new URLSearchParams(location.search).get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
    } catch (err) {
      const apiErr = err as ApiError;
      if (apiErr.code === "crm_id_required" && Array.isArray(apiErr.details.choices)) {
        setChoices(apiErr.details.choices as Choice[]);
        setCrmId("");
        setError(null);
      } else setError(apiErr);
    } finally {
      setBusy(false);
    }
  };
  const fields = error?.fieldMessages?.() ?? {};
  return (
    <AuthFrame title={t("login_title")} id="login-page">
      <form onSubmit={submit} id="login-form">
        <TextField label={t("email")} name="email" type="email" autoComplete="username" value={email}
          onValue={(v) => { setEmail(v); setChoices(null); }} error={fields.email} required />
        <TextField label={t("password")} name="password" type="password" autoComplete="current-password"
          value={password} onValue={setPassword} error={fields.password} required />
        {choices && (
          <fieldset class="crm-choices" id="crm-choices">
            <legend>{t("choose_crm")}</legend>
            {choices.map((c) => (
              <label class="radio" key={c.crm_id}>
                <input type="radio" name="crm_id" value={c.crm_id} checked={crmId === c.crm_id}
                  onChange={() => setCrmId(c.crm_id)} />
                <span>{c.company_name}</span> <code>{c.crm_id}</code>
              </label>
            ))}
          </fieldset>
        )}
        <ErrorBox error={error} shown={["email", "password"]} />
        <button type="submit" class="primary wide" disabled={busy || (!!choices && !crmId)} id="login-submit">
          {t("login")}
        </button>
      </form>
      <p class="auth-links">
        <Link href="/forgot" id="forgot-link">{t("forgot_link")}</Link>
      </p>
    </AuthFrame>
  );
}

export function ForgotPage() {
  const [email, setEmail] = useState("");
  const [crmId, setCrmId] = useState("");
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/api/v1/auth/password/forgot", { email, crm_id: crmId.trim().toUpperCase() });
      setSent(true);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const fields = error?.fieldMessages() ?? {};
  return (
    <AuthFrame title={t("forgot_title")} id="forgot-page">
      {sent ? (
        <div class="alert success" id="forgot-sent">{t("forgot_sent")}</div>
      ) : (
        <form onSubmit={submit} id="forgot-form">
          <p class="muted">{t("forgot_hint")}</p>
          <TextField label={t("email")} name="email" type="email" value={email} onValue={setEmail}
            error={fields.email} required />
          <TextField label={`${t("crm_id")} (${t("optional")})`} name="crm_id" value={crmId} onValue={setCrmId}
            error={fields.crm_id} />
          <ErrorBox error={error} shown={["email", "crm_id"]} />
          <button type="submit" class="primary wide">{t("send_link")}</button>
        </form>
      )}
      <p class="auth-links">
        <Link href="/login">{t("back_to_login")}</Link>
      </p>
    </AuthFrame>
  );
}

function tokenFromHash(): string {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  return params.get("token") ?? "";
}

export function ResetPage() {
  const [token] = useState(tokenFromHash);
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);
  useEffect(() => {
    // The token stays in memory only: drop it from the address bar and the history entry.
    if (location.hash) history.replaceState(null, "", location.pathname);
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (password !== repeat) {
      setError(new Error(t("passwords_differ")));
      return;
    }
    try {
      await post("/api/v1/auth/password/reset", { token, password });
      setDone(true);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const fields = error instanceof ApiError ? error.fieldMessages() : {};
  return (
    <AuthFrame title={t("reset_title")} id="reset-page">
      {done ? (
        <div class="alert success" id="reset-done">{t("reset_done")}</div>
      ) : !token ? (
        <div class="alert error">{t("reset_no_token")}</div>
      ) : (
        <form onSubmit={submit} id="reset-form">
          <TextField label={t("new_password")} name="password" type="password" autoComplete="new-password"
            value={password} onValue={setPassword} error={fields.password} required />
          <span class="hint muted" id="password-rule">{t("password_rule")}</span>
          <TextField label={t("repeat_password")} name="repeat" type="password" autoComplete="new-password"
            value={repeat} onValue={setRepeat} required />
          <ErrorBox error={error} shown={["password"]} />
          <button type="submit" class="primary wide" id="reset-submit">{t("reset_save")}</button>
        </form>
      )}
      <p class="auth-links">
        <Link href="/login" id="to-login">{t("back_to_login")}</Link>
      </p>
    </AuthFrame>
  );
}
