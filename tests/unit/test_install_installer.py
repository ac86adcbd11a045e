"""The one install run (preflight -> helm -> verify) over the sandbox with the real helm: events in order, and
a cancel that ends the run at each stage, including while it waits for verify."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from tui import kube
from tui.istio.helm import StepEvent
from tui.istio.installer import Installer, InstallListener
from tui.istio.plan import build_plan
from tui.istio.uninstall import installed_releases
from tui.istio.verify import VerifyReport
from tui.kube import Cluster
from tui.models import CheckLine


class Recorder(InstallListener):
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.on_step: list[StepEvent] = []

    def preflight(self, lines: Sequence[CheckLine]) -> None:
        self.seen.append("preflight")

    def step(self, event: StepEvent) -> None:
        if event.kind != "output":
            self.seen.append(f"{event.kind}:{event.release}")
            self.on_step.append(event)

    def verifying(self) -> None:
        self.seen.append("verifying")

    def verify(self, report: VerifyReport) -> None:
        self.seen.append("verify")


def test_run_reports_each_stage_and_ends_green(cluster: Cluster, kubeconfig: Path) -> None:
    plan = build_plan(profile="minimal", chart_source="sandbox", ingress_type="NodePort")
    listener = Recorder()
    result = Installer(
        cluster,
        plan=plan,
        kubeconfig=str(kubeconfig),
        context="sandbox",
        listener=listener,
        verify_timeout_s=60,
    ).run()
    assert result.outcome == "done", result
    assert result.report is not None and result.report.line("istiod").status == "pass"
    head = [s for s in listener.seen if s != "verify"]
    assert head == [
        "preflight",
        "start:istio-base",
        "done:istio-base",
        "start:istiod",
        "done:istiod",
        "verifying",
    ]
    assert listener.seen[-1] == "verify"


def test_cancel_between_steps_stops_before_the_next(cluster: Cluster, kubeconfig: Path) -> None:
    plan = build_plan(profile="minimal", chart_source="sandbox")
    listener = Recorder()
    installer = Installer(
        cluster, plan=plan, kubeconfig=str(kubeconfig), context="sandbox", listener=listener
    )
    listener.step = lambda event: installer.cancel() if event.kind == "start" else None  # type: ignore[method-assign]
    result = installer.run()
    assert result.outcome == "cancelled" and "1 of 2 steps done" in result.reason
    assert installed_releases(cluster) == ["istio-base"]


def test_cancel_ends_the_verify_wait(cluster: Cluster, kubeconfig: Path) -> None:
    """With a deadline of minutes, a cancel while verify is still red must end the run at once."""
    plan = build_plan(profile="minimal", chart_source="sandbox")
    waiting = threading.Event()
    listener = Recorder()

    def break_istiod() -> None:
        cluster.delete(kube.DEPLOYMENTS, "istiod", namespace="istio-system")
        waiting.set()

    listener.verifying = break_istiod  # type: ignore[method-assign]
    installer = Installer(
        cluster,
        plan=plan,
        kubeconfig=str(kubeconfig),
        context="sandbox",
        listener=listener,
        verify_timeout_s=600,
    )
    # No istiod once helm is done: verify stays red and would wait its whole deadline.
    results = []
    thread = threading.Thread(target=lambda: results.append(installer.run()))
    thread.start()
    assert waiting.wait(60)
    installer.cancel()
    thread.join(10)
    assert not thread.is_alive(), "the verify wait ignored the cancel"
    assert results[0].outcome == "cancelled" and "waiting for verify" in results[0].reason
