// The main screens by path.
import type { JSX } from "preact";
import type { TextKey } from "../i18n";
import { RecordCard } from "./card";
import { BoardPage, RecordsTable } from "./records";
import { ReportsPage } from "./reports";
import { TasksPage } from "./tasks";

export interface Route {
  pattern: string;
  render: (params: Record<string, string>) => JSX.Element;
  nav?: { href: string; label: TextKey };
}

export const routes: Route[] = [
  { pattern: "/board", render: () => <BoardPage />, nav: { href: "/board", label: "nav_board" } },
  { pattern: "/deals", render: () => <RecordsTable entity="deal" key="deals" />, nav: { href: "/deals", label: "nav_deals" } },
  { pattern: "/deals/:id", render: (p) => <RecordCard entity="deal" id={p.id} key={p.id} /> },
  { pattern: "/clients", render: () => <RecordsTable entity="client" key="clients" />, nav: { href: "/clients", label: "nav_clients" } },
  { pattern: "/clients/:id", render: (p) => <RecordCard entity="client" id={p.id} key={p.id} /> },
  { pattern: "/tasks", render: () => <TasksPage />, nav: { href: "/tasks", label: "nav_tasks" } },
  { pattern: "/reports", render: () => <ReportsPage />, nav: { href: "/reports", label: "nav_reports" } },
];
