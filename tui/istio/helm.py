"""Run the real ``helm`` CLI for an ``InstallPlan`` step by step, with live output and a cancel between steps.

How the UI uses this module (from a thread worker: everything here blocks)
-------------------------------------------------------------------------
* ``find_helm()`` -> ``HelmInfo(path, version)`` or ``ToolMissing`` whose message says how to install helm.
  The wizard calls it in preflight and still shows/saves the plan when helm is missing.
* ``runner = HelmRunner(plan, kubeconfig=..., context=..., on_event=callback)``; ``runner.install()`` runs
  ``helm upgrade --install`` for each ``plan.releases`` entry (so a re-run is idempotent);
  ``runner.uninstall()`` runs ``helm uninstall`` in reverse order (addons first). Each returns the list of
  ``StepResult``.
* ``on_event(StepEvent)`` is called from the worker thread for every state change and every output line:
  ``kind`` is ``"start"`` / ``"output"`` / ``"done"`` / ``"failed"`` / ``"cancelled"``. In Textual, forward it
  with ``call_from_thread``/``post_message`` and batch ``output`` lines if you render them.
* ``runner.cancel()`` (any thread) stops *after* the current step: helm is never killed mid-release, which
  would leave the release ``pending-upgrade``. The run then raises ``Cancelled`` (not an error to show red).
* A failed step raises ``ToolFailed`` with the release name and helm's error line; later steps do not run.

The values files are written to a private temporary directory for the run (``plan.write``), so the exact files
the user saw in the preview are the ones helm reads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui.errors import IstioTuiError, ToolFailed, ToolMissing
from tui.istio.plan import InstallPlan, Release

HELM_INSTALL_HINT = "install helm 3: run `make tools` in the istio-tui checkout, or follow https://helm.sh/docs/intro/install/"
EventKind = Literal["start", "output", "done", "failed", "cancelled"]


class Cancelled(IstioTuiError):
    """The user cancelled the run; the steps before it completed."""


@dataclass(frozen=True)
class HelmInfo:
    path: str
    version: str  # e.g. "v3.17.2"


@dataclass(frozen=True)
class StepEvent:
    kind: EventKind
    index: int  # 0-based step number
    total: int
    release: str
    line: str = ""  # output line, or the reason for failed/cancelled
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class StepResult:
    release: str
    ok: bool
    elapsed_s: float
    output: tuple[str, ...]


def find_helm(*, path: str | None = None) -> HelmInfo:
    """Locate helm on ``PATH`` (or the given PATH string) and ask its version; ToolMissing/ToolFailed."""
    exe = shutil.which("helm", path=path)
    if exe is None:
        raise ToolMissing("helm was not found on PATH", hint=HELM_INSTALL_HINT)
    try:
        proc = subprocess.run(
            [exe, "version", "--short"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ToolFailed(f"{exe} version did not run: {err}", hint=HELM_INSTALL_HINT) from None
    if proc.returncode != 0:
        raise ToolFailed(f"{exe} version failed: {_tail(proc.stderr)}", hint=HELM_INSTALL_HINT)
    match = re.search(r"v?(\d+\.\d+\.\d+)", proc.stdout)
    version = f"v{match.group(1)}" if match else proc.stdout.strip()
    if match and not version.startswith("v3."):
        raise ToolFailed(f"{exe} is helm {version}; istio-tui needs helm 3", hint=HELM_INSTALL_HINT)
    return HelmInfo(exe, version)


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(kept[-lines:]) if kept else "no output"


class HelmRunner:
    """Runs the plan's helm steps in order. One runner per run; not reusable after ``cancel()``."""

    def __init__(
        self,
        plan: InstallPlan,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        on_event: Callable[[StepEvent], None] | None = None,
        helm: HelmInfo | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.plan = plan
        self.kubeconfig = kubeconfig
        self.context = context
        self.on_event = on_event or (lambda _event: None)
        self.helm = helm or find_helm(path=(env or os.environ).get("PATH"))
        self.env = env
        self._cancel = threading.Event()
        self._repo_flags: list[str] = []

    def cancel(self) -> None:
        """Stop after the current step (safe from any thread)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def kube_flags(self) -> list[str]:
        flags: list[str] = []
        if self.kubeconfig:
            flags += ["--kubeconfig", self.kubeconfig]
        if self.context:
            flags += ["--kube-context", self.context]
        return flags

    def command(self, args: Sequence[str]) -> list[str]:
        return [self.helm.path, *args, *self.kube_flags()]

    def install(self) -> list[StepResult]:
        """``helm upgrade --install`` every release in order; repo charts get ``helm repo add`` first."""
        with tempfile.TemporaryDirectory(prefix="istio-tui-plan-") as tmp:
            self.plan.write(tmp)
            if not self.plan.chart_source.local:
                self._add_repos(tmp)
            steps = [(rel, rel.install_args(values_dir=tmp)) for rel in self.plan.releases]
            return self._run_steps(steps)

    def uninstall(self, releases: Sequence[Release] | None = None) -> list[StepResult]:
        """``helm uninstall`` in reverse install order (addons first); missing releases are not an error."""
        chosen = list(releases) if releases is not None else list(reversed(self.plan.releases))
        return self._run_steps([(rel, rel.uninstall_args()) for rel in chosen])

    def _add_repos(self, workdir: str) -> None:
        config = Path(workdir) / "repositories.yaml"
        cache = Path(workdir) / "repo-cache"
        for name, url in self.plan.repos():
            self._run_plain(
                [
                    "repo",
                    "add",
                    name,
                    url,
                    "--force-update",
                    "--repository-config",
                    str(config),
                    "--repository-cache",
                    str(cache),
                ],
                what=f"helm repo add {name} {url}",
            )
        self._repo_flags = ["--repository-config", str(config), "--repository-cache", str(cache)]

    def _run_plain(self, args: list[str], *, what: str) -> None:
        try:
            proc = subprocess.run(
                [self.helm.path, *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=self.env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ToolFailed(f"{what} did not run: {err}") from None
        if proc.returncode != 0:
            raise ToolFailed(f"{what} failed: {_tail(proc.stderr)}")

    def _run_steps(self, steps: list[tuple[Release, list[str]]]) -> list[StepResult]:
        results: list[StepResult] = []
        total = len(steps)
        for index, (rel, args) in enumerate(steps):
            if self._cancel.is_set():
                reason = f"cancelled before {rel.name}; {index} of {total} steps done"
                self.on_event(StepEvent("cancelled", index, total, rel.name, reason))
                raise Cancelled(reason)
            results.append(
                self._run_one(index, total, rel, [*args, *(self._repo_flags if args[0] == "upgrade" else [])])
            )
        return results

    def _run_one(self, index: int, total: int, rel: Release, args: list[str]) -> StepResult:
        cmd = self.command(args)
        started = time.monotonic()
        self.on_event(StepEvent("start", index, total, rel.name, " ".join(cmd)))
        tail: deque[str] = deque(maxlen=200)
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env, bufsize=1
            )
        except OSError as err:
            raise ToolFailed(f"helm could not start for {rel.name}: {err}", hint=HELM_INSTALL_HINT) from None
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            self.on_event(StepEvent("output", index, total, rel.name, line, time.monotonic() - started))
        code = proc.wait()
        elapsed = time.monotonic() - started
        output = tuple(tail)
        if code != 0:
            reason = _failure_reason(output)
            self.on_event(StepEvent("failed", index, total, rel.name, reason, elapsed))
            raise ToolFailed(f"helm step {index + 1}/{total} ({rel.name}) failed: {reason}")
        self.on_event(StepEvent("done", index, total, rel.name, "", elapsed))
        return StepResult(rel.name, True, elapsed, output)


def _failure_reason(output: Sequence[str]) -> str:
    """helm's own ``Error:`` line when there is one, else the last lines of output."""
    errors = [ln.strip() for ln in output if ln.strip().startswith("Error")]
    if errors:
        return errors[-1]
    return _tail("\n".join(output))
