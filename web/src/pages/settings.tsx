// Settings: users and rights, the funnel editor, fields, business processes, bill and payment.
import { t, type TextKey } from "../i18n";
import { navigate } from "../router";
import { Link } from "../ui";
import { UsersAndRights } from "./users";
import { FunnelEditor } from "./funnel";
import { FieldsPage } from "./fields";
import { BillingPage } from "./billing";
import { ProcessesPage } from "./processes";

interface Tab {
  key: string;
  label: TextKey;
  render: () => any;
}

export const settingsTabs: Tab[] = [
  { key: "users", label: "settings_users", render: () => <UsersAndRights /> },
  { key: "funnel", label: "settings_funnel", render: () => <FunnelEditor /> },
  { key: "fields", label: "settings_fields", render: () => <FieldsPage /> },
  { key: "processes", label: "settings_processes", render: () => <ProcessesPage /> },
  { key: "billing", label: "settings_billing", render: () => <BillingPage /> },
];

export function SettingsPage({ path }: { path: string }) {
  const key = path.split("/")[2] ?? "";
  const tab = settingsTabs.find((x) => x.key === key);
  if (!tab) {
    setTimeout(() => navigate("/settings/users", true), 0);
    return null;
  }
  return (
    <div class="settings">
      <aside class="side-nav">
        <h2>{t("nav_settings")}</h2>
        {settingsTabs.map((x) => (
          <Link key={x.key} href={`/settings/${x.key}`} class={x.key === key ? "active" : ""} id={`settings-${x.key}`}
            current={x.key === key}>
            {t(x.label)}
          </Link>
        ))}
      </aside>
      <section class="settings-body">{tab.render()}</section>
    </div>
  );
}
