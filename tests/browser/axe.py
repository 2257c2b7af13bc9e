"""axe-core (web/node_modules/axe-core, a devDependency of web/ pinned in its package-lock) run in the page under
test: WCAG 2.0/2.1 A and AA rules; `serious()` keeps the violations a test fails on (impact serious or critical)."""

from __future__ import annotations

import re

from tests.support.infra import ROOT

AXE_JS = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("serious", "critical")
CONTRAST = re.compile(r"contrast of [\d.]+ \(foreground color: #\w+, background color: #\w+")

RUN = """
const [context, tags, done] = arguments;
axe.run(context || document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then((r) => done({violations: r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target, impact: n.impact, summary: n.failureSummary}))}))}),
        (e) => done({error: String(e)}));
"""


def violations(driver, context: str | None = None) -> list[dict]:
    """Every WCAG A/AA violation axe finds in the page (or inside the `context` selector)."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: `cd web && npm ci` (axe-core is a devDependency of web/)")
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(RUN, context, TAGS)
    if result.get("error"):
        raise AssertionError(f"axe.run failed: {result['error']}")
    return result["violations"]


def serious(found: list[dict]) -> list[dict]:
    """The violations with impact serious or critical, each keeping only its nodes of that impact."""
    out = []
    for v in found:
        nodes = [n for n in v["nodes"] if (n["impact"] or v["impact"]) in FAILING]
        if nodes:
            out.append({**v, "nodes": nodes})
    return out


def report(found: list[dict]) -> str:
    """One line per violation: rule id, impact, help and the CSS targets of its nodes."""
    def node(n: dict) -> str:
        target = " >> ".join(map(str, n["target"])) if isinstance(n["target"], list) else str(n["target"])
        m = CONTRAST.search(n.get("summary") or "")
        return f"{target} ({m.group(0)})" if m else target

    lines = []
    for v in found:
        targets = ", ".join(node(n) for n in v["nodes"][:12])
        more = f" (+{len(v['nodes']) - 12} more)" if len(v["nodes"]) > 12 else ""
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {targets}{more}")
    return "\n".join(lines)


def assert_accessible(browser, where: str, context: str | None = None) -> None:
    """No serious or critical WCAG 2.1 A/AA violation on the page as it is now."""
    bad = serious(violations(browser.driver, context))
    assert not bad, f"axe: {where} ({browser.path}) has serious/critical violations:\n{report(bad)}"
