"""py-spy profiles of the stack's processes under a load, read from the request handler down."""

from __future__ import annotations

import subprocess

import lib
from common import WITHIN


class Profiles:
    """Mixed into the bench (system.System)."""

    def finish_profile(self, spy: subprocess.Popen, key: str, file: str, within: str) -> None:
        """Stop a py-spy started with a long duration (SIGINT makes it write), read its top frames."""
        spy.send_signal(2)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
        self.results["profiles"][key] = lib.top_frames(self.var / file, WITHIN[within])

    def profile_under(self, label: str, targets: dict[str, int], load) -> None:
        secs = max(4, self.seconds - 2)
        for name in targets:
            (self.var / f"profile-{label}-{name}.txt").unlink(missing_ok=True)
        procs = {name: lib.profile(pid, secs, self.var / f"profile-{label}-{name}.txt")
                 for name, pid in targets.items()}
        load()
        for name, p in procs.items():
            if p is None:
                continue
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                err = b"timeout"
            top = lib.top_frames(self.var / f"profile-{label}-{name}.txt", WITHIN[name.split("-")[0]])
            if not top["samples"]:
                top["error"] = (err or b"").decode(errors="replace")[-300:]
            self.results["profiles"][f"{label}:{name}"] = top

    def targets(self) -> dict[str, int]:
        table = lib.process_table(self.stack)
        out = {"records": self.stack.running["records"].pid}
        worker = next((pid for name, pid in table.items() if name.startswith("gateway/child")), None)
        if worker:
            out["gateway-worker"] = worker
        return out
