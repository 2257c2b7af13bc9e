// Login (with the CRM ID choice), sign-up (with the company's language), forgot password, reset password
// (token in the URL fragment).
import { useEffect, useState } from "preact/hooks";
import { ApiError, post, setTokens, type Tokens } from "../api";
import { LANGS, lang, t, type Lang } from "../i18n";
import { navigate } from "../router";
import { ErrorBox, LangSwitch, Link, SelectField, TextField, PERSON_MAX } from "../ui";

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
      const body: Record<string, string | boolean> = { email, password, refresh_cookie: true };
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
        {" · "}
        <Link href="/signup" id="signup-link">{t("signup_link")}</Link>
      </p>
    </AuthFrame>
  );
}

const SIGNUP_FIELDS = ["company_name", "first_name", "last_name", "email", "password", "language"];

/** A company and its first admin; the company's language (the UI's by default) names its seeded roles,
 * group, funnels, stages and task types. */
export function SignUpPage() {
  const [form, setForm] = useState({ company_name: "", first_name: "", last_name: "", email: "", password: "" });
  const [language, setLanguage] = useState<Lang>(lang());
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // Until the company's language is picked, it follows the UI's language switch.
  const shown = touched ? language : lang();
  const field = (name: keyof typeof form) => (v: string) => setForm({ ...form, [name]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const body = { ...form, language: shown, refresh_cookie: true };
      const answer = await post<{ tokens: Tokens }>("/api/v1/signup", body);
      setTokens(answer.tokens);
      navigate("/", true);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const fields = error?.fieldMessages?.() ?? {};
  return (
    <AuthFrame title={t("signup_title")} id="signup-page">
      <form onSubmit={submit} id="signup-form">
        <TextField label={t("company_name")} name="company_name" value={form.company_name}
          onValue={field("company_name")} error={fields.company_name} required />
        <TextField label={t("first_name")} name="first_name" autoComplete="given-name" value={form.first_name}
          maxLength={PERSON_MAX} onValue={field("first_name")} error={fields.first_name} required />
        <TextField label={t("last_name")} name="last_name" autoComplete="family-name" value={form.last_name}
          maxLength={PERSON_MAX} onValue={field("last_name")} error={fields.last_name} required />
        <TextField label={t("email")} name="email" type="email" autoComplete="username" value={form.email}
          maxLength={PERSON_MAX} onValue={field("email")} error={fields.email} required />
        <TextField label={t("password")} name="password" type="password" autoComplete="new-password"
          maxLength={PERSON_MAX} value={form.password} onValue={field("password")} error={fields.password} required />
        <span class="hint muted">{t("password_rule")}</span>
        <SelectField label={t("company_language")} name="language" value={shown}
          onValue={(v) => { setLanguage(v as Lang); setTouched(true); }} error={fields.language}
          options={LANGS.map((l) => ({ value: l, label: t(`lang_${l}`) }))} />
        <span class="hint muted" id="language-hint">{t("company_language_hint")}</span>
        <ErrorBox error={error} shown={SIGNUP_FIELDS} />
        <button type="submit" class="primary wide" disabled={busy} id="signup-submit">{t("signup_submit")}</button>
      </form>
      <p class="auth-links">
        <Link href="/login" id="to-login">{t("have_account")}</Link>
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
            maxLength={PERSON_MAX} value={password} onValue={setPassword} error={fields.password} required />
          <span class="hint muted" id="password-rule">{t("password_rule")}</span>
          <TextField label={t("repeat_password")} name="repeat" type="password" autoComplete="new-password"
            maxLength={PERSON_MAX} value={repeat} onValue={setRepeat} required />
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
