"""One install run: preflight, then the helm steps, then verify, for the Install pane and `install --yes`.

The run blocks, so callers give it a thread of its own. It reports through an ``InstallListener`` (called on
the run's thread; the pane turns each call into a Textual message, the CLI prints a line) and it honours
``cancel()`` from any thread at every stage: before helm, between helm steps (helm is never killed
mid-release, which would leave it ``pending-upgrade``) and while waiting for verify.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tui.errors import IstioTuiError
from tui.istio.helm import Cancelled, HelmRunner, StepEvent
from tui.istio.plan import InstallPlan
from tui.istio.preflight import run_preflight
from tui.istio.verify import VerifyReport, settled, wait_for_verify
from tui.models import CheckLine

if TYPE_CHECKING:
    from tui.kube import Cluster

Outcome = Literal["blocked", "cancelled", "failed", "done", "verify-red"]
VERIFY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class InstallResult:
    """``done``: verify settled green; ``verify-red``: helm finished but verify did not settle in time."""

    outcome: Outcome
    reason: str = ""
    report: VerifyReport | None = None


class InstallListener:
    """Override what you show; every method is called on the run's thread, in run order."""

    def preflight(self, lines: Sequence[CheckLine]) -> None:
        """The preflight checklist, once, before any helm step."""

    def step(self, event: StepEvent) -> None:
        """Every helm step change and output line."""

    def verifying(self) -> None:
        """helm finished every step; verify polling starts."""

    def verify(self, report: VerifyReport) -> None:
        """Each verify report while waiting for a green one."""


class Installer:
    """One run of one plan; not reusable. ``cancel()`` is safe from any thread and before ``run()``."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        plan: InstallPlan,
        kubeconfig: str | None,
        context: str | None,
        listener: InstallListener | None = None,
        verify_timeout_s: float = VERIFY_TIMEOUT_S,
    ) -> None:
        self._cluster = cluster
        self._plan = plan
        self._kubeconfig = kubeconfig
        self._context = context
        self._listener = listener or InstallListener()
        self._verify_timeout_s = verify_timeout_s
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._runner: HelmRunner | None = None

    def cancel(self) -> None:
        with self._lock:
            self._cancel.set()
            runner = self._runner
        if runner is not None:
            runner.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> InstallResult:
        plan = self._plan
        lines = run_preflight(self._cluster, istio_version=plan.istio_version, ingress_type=plan.ingress_type)
        self._listener.preflight(lines)
        failed = [line for line in lines if not line.ok]
        if failed:
            return InstallResult("blocked", f"preflight failed: {failed[0].title}: {failed[0].reason}")
        runner = HelmRunner(
            plan, kubeconfig=self._kubeconfig, context=self._context, on_event=self._listener.step
        )
        with self._lock:
            self._runner = runner
            if self._cancel.is_set():
                return InstallResult("cancelled", "cancelled before the first helm step")
        try:
            runner.install()
        except Cancelled as err:
            return InstallResult("cancelled", str(err))
        except IstioTuiError as err:
            return InstallResult("failed", str(err))
        self._listener.verifying()
        report = wait_for_verify(
            self._cluster,
            plan=plan,
            timeout_s=self._verify_timeout_s,
            stop=self._cancel,
            on_report=self._listener.verify,
        )
        if settled(report):
            return InstallResult("done", report=report)
        if self._cancel.is_set():
            return InstallResult("cancelled", "cancelled while waiting for verify; helm had finished", report)
        return InstallResult("verify-red", report=report)
