// The shell: authentication gate, top bar with navigation and the user menu, the screens by path.
import { useEffect, useState } from "preact/hooks";
import { get, logout, onAuthChange, refresh, tokens } from "./api";
import { onLangChange, t } from "./i18n";
import { match, navigate, usePath } from "./router";
import { MeContext, fullName, type Me } from "./session";
import { CopyButton, LangSwitch, Link } from "./ui";
import { ForgotPage, LoginPage, ResetPage, SignUpPage } from "./pages/auth";
import { SettingsPage } from "./pages/settings";
import { routes } from "./pages/registry";

const PUBLIC = ["/login", "/signup", "/forgot", "/reset"];

export function App() {
  const path = usePath();
  const [, setTick] = useState(0);
  const [authed, setAuthed] = useState(!!tokens());
  // A tab without an access token (a new tab, a copied link) first tries to resume the session's cookie.
  const [resuming, setResuming] = useState(!tokens() && !PUBLIC.includes(path));
  useEffect(() => onLangChange(() => setTick((n) => n + 1)), []);
  useEffect(() => onAuthChange(() => setAuthed(!!tokens())), []);
  useEffect(() => {
    if (resuming) refresh().finally(() => setResuming(false));
  }, []);

  if (path === "/login") return <LoginPage />;
  if (path === "/signup") return <SignUpPage />;
  if (path === "/forgot") return <ForgotPage />;
  if (path === "/reset") return <ResetPage />;
  if (!authed && resuming) return <div class="loading">{t("loading")}</div>;
  if (!authed) {
    const next = PUBLIC.includes(path) || path === "/" ? "" : `?next=${encodeURIComponent(path + location.search)}`;
    setTimeout(() => navigate(`/login${next}`, true), 0);
    return null;
  }
  return <Shell path={path} />;
}

function Shell({ path }: { path: string }) {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    get<Me>("/api/v1/me").then(setMe, (e) => setError(e.message));
  }, []);
  if (!me) return <div class="loading">{error || t("loading")}</div>;
  return (
    <MeContext.Provider value={me}>
      <div class="shell">
        <TopBar me={me} path={path} />
        <main class="content">
          <Screen path={path} />
        </main>
      </div>
    </MeContext.Provider>
  );
}

function Screen({ path }: { path: string }) {
  if (path === "/") {
    const first = routes.find((r) => r.nav);
    setTimeout(() => navigate(first ? first.nav!.href : "/settings/users", true), 0);
    return null;
  }
  if (path.startsWith("/settings")) return <SettingsPage path={path} />;
  for (const r of routes) {
    const params = match(r.pattern, path);
    if (params) return r.render(params);
  }
  return <p class="muted">{t("not_found_page")}</p>;
}

function TopBar({ me, path }: { me: Me; path: string }) {
  const nav = routes.filter((r) => r.nav).map((r) => r.nav!);
  return (
    <header class="topbar">
      <span class="brand">{t("app")}</span>
      <nav>
        {nav.map((n) => (
          <Link key={n.href} href={n.href} class={path.startsWith(n.href) ? "active" : ""} id={`nav-${n.href.slice(1)}`}
            current={path.startsWith(n.href)}>
            {t(n.label)}
          </Link>
        ))}
        <Link href="/settings/users" class={path.startsWith("/settings") ? "active" : ""} id="nav-settings"
          current={path.startsWith("/settings")}>
          {t("nav_settings")}
        </Link>
      </nav>
      <UserMenu me={me} />
    </header>
  );
}

function UserMenu({ me }: { me: Me }) {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!(e.target as HTMLElement).closest(".user-menu")) setOpen(false);
    };
    document.addEventListener("click", close);
    return () => document.removeEventListener("click", close);
  }, [open]);
  const signOut = async () => {
    await logout();
    navigate("/login", true);
  };
  return (
    <div class="user-menu">
      <button type="button" class="user-button" id="user-menu-button" onClick={() => setOpen(!open)}>
        {fullName(me.user)}
      </button>
      {open && (
        <div class="dropdown" id="user-menu">
          <div class="who">
            <strong>{fullName(me.user)}</strong>
            <span class="muted">{me.user.email}</span>
            <span class="muted">{me.company.name} · {me.role.name}</span>
          </div>
          <div class="crm-id-row">
            <span class="label">{t("crm_id")}</span>
            <code id="crm-id">{me.company.crm_id}</code>
            <CopyButton text={me.company.crm_id} id="copy-crm-id" />
          </div>
          <LangSwitch />
          <button type="button" class="secondary wide" id="logout" onClick={signOut}>
            {t("logout")}
          </button>
        </div>
      )}
    </div>
  );
}
