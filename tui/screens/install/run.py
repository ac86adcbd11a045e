"""Step 3: the install run: which releases in what order, live helm progress, istio-system pods, cancel.

The run itself is ``tui.istio.installer.Installer`` (the one ``install --yes`` uses) on a ``Stream`` of its
own, and the istio-system pod poll on a second one: a run can last minutes, and neither may hold a slot of
Textual's small worker pool. Both belong to the run; a cancel or the run's end stops both, so the next run
starts clean. Everything they learn arrives here as typed messages.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, ProgressBar, Static

from tui.errors import IstioTuiError
from tui.istio.helm import StepEvent
from tui.istio.installer import Installer, InstallListener, InstallResult
from tui.istio.plan import ISTIO_NAMESPACE, InstallPlan
from tui.istio.verify import InstallProgress, VerifyReport, install_progress
from tui.models import CheckLine
from tui.screens.install.step import WizardStep, button_row
from tui.screens.install.views import ReleaseState, apply_step, pod_rows, release_rows
from tui.widgets.pane import READ_ONLY_REASON
from tui.widgets.stream import Stream

PROGRESS_POLL_S = 1.0
LOG_LINES = 4


def helm_kubeconfig(path: str | None) -> str | None:
    """helm's ``--kubeconfig`` takes one file; a merged ``$KUBECONFIG`` list reaches it via the env."""
    return path if path and os.pathsep not in path else None


class _Relay(InstallListener):
    """Turns the installer's calls (on the run's thread) into messages to the step (``post_message`` is
    thread-safe)."""

    def __init__(self, step: RunStep) -> None:
        self._step = step

    def preflight(self, lines: Sequence[CheckLine]) -> None:
        self._step.post_message(RunStep.Preflighted(lines))

    def step(self, event: StepEvent) -> None:
        self._step.post_message(RunStep.Stepped(event))

    def verifying(self) -> None:
        self._step.post_message(RunStep.Verifying())

    def verify(self, report: VerifyReport) -> None:
        self._step.post_message(RunStep.Verified(report))


class RunStep(Vertical, WizardStep):
    KEY = "install"
    STATUS_ID = "inst-status"

    class Preflighted(Message):
        def __init__(self, lines: Sequence[CheckLine]) -> None:
            super().__init__()
            self.lines = tuple(lines)

    class Stepped(Message):
        def __init__(self, event: StepEvent) -> None:
            super().__init__()
            self.event = event

    class Verifying(Message):
        """helm is done; the run waits for a green verify."""

    class Verified(Message):
        def __init__(self, report: VerifyReport) -> None:
            super().__init__()
            self.report = report

    class Progressed(Message):
        def __init__(self, progress: InstallProgress) -> None:
            super().__init__()
            self.progress = progress

    class Finished(Message):
        def __init__(self, result: InstallResult) -> None:
            super().__init__()
            self.result = result

    class Crashed(Message):
        """The run or the pod poll failed unexpectedly (on its own thread); the app's one handler shows it."""

        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def __init__(self) -> None:
        super().__init__(id="step-install", classes="wiz-step")
        self.releases: list[ReleaseState] = []
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._installer: Installer | None = None
        self._streams: tuple[Stream, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("3  Install", classes="wiz-title")
        yield Static("", id="inst-summary", markup=False)
        yield Static("", id="inst-status", classes="wiz-status")
        yield ProgressBar(id="inst-progress", show_eta=False, total=1)
        releases: DataTable[Text | str] = DataTable(id="inst-releases", cursor_type="none", show_cursor=False)
        releases.add_columns("#", "RELEASE", "CHART", "STATE", "TIME", "DETAIL")
        yield releases
        yield Static(f"Pods in {ISTIO_NAMESPACE}", classes="wiz-subtitle")
        pods: DataTable[Text | str] = DataTable(id="inst-pods", cursor_type="none", show_cursor=False)
        pods.add_columns("POD", "PHASE", "READY", "STALLED BECAUSE")
        yield pods
        yield Static("", id="inst-notes", markup=False)
        yield Static("", id="inst-log", markup=False)
        yield from button_row(
            Button("Install… (i)", id="btn-install", compact=True, variant="primary", disabled=self.readonly),
            Button("Cancel after this step (x)", id="btn-cancel", compact=True, disabled=True),
            Button("Next: verify (4)", id="btn-go-verify", compact=True),
        )

    def on_unmount(self) -> None:
        if self._installer is not None:
            self._installer.cancel()
        for stream in self._streams:
            stream.stop()

    @property
    def running(self) -> bool:
        """A run's installer or pod poll is still alive (also just after a cancel, until helm's step ends)."""
        return any(s.alive for s in self._streams)

    def show_idle(self, plan: InstallPlan | None, *, plan_error: str, helm_problem: str) -> None:
        """Before a run: which releases the plan will install, and what blocks installing."""
        if self.is_busy:
            return
        summary = self.query_one("#inst-summary", Static)
        if plan is None:
            summary.update(Text(f"The plan is not valid ({plan_error}); fix it on step 2.", style="red"))
            return
        summary.update(Text.assemble(("Plan: ", "bold"), plan.summary()))
        if not self.releases or all(r.state == "waiting" for r in self.releases):
            self.releases = [ReleaseState(r.name, r.chart) for r in plan.releases]
            self._show_releases()
        if helm_problem:
            self.set_status(
                Text(
                    f"✘ {helm_problem}\n  You can still save the plan on step 2 (ctrl+s) and run "
                    "install.sh where helm is installed.",
                    style="bold red",
                )
            )
        elif self.readonly:
            self.set_status(Text(f"installing is disabled in {READ_ONLY_REASON}", style="yellow"))

    def reset(self) -> None:
        """After an uninstall: nothing of the last run is true any more."""
        self.releases = []
        self.mark("")

    def _show_releases(self) -> None:
        table = self.query_one("#inst-releases", DataTable)
        table.clear()
        table.add_rows(release_rows(self.releases))

    def start(self, plan: InstallPlan) -> None:
        self.releases = [ReleaseState(r.name, r.chart) for r in plan.releases]
        self._show_releases()
        self._log.clear()
        self.query_one("#inst-log", Static).update("")
        self.query_one("#inst-progress", ProgressBar).update(total=len(plan.releases), progress=0)
        self.query_one("#btn-cancel", Button).disabled = False
        self.begin("preflight, then helm")
        self.mark("…")
        cluster = self.istio_app.cluster
        installer = Installer(
            cluster,
            plan=plan,
            kubeconfig=helm_kubeconfig(cluster.kubeconfig),
            context=cluster.context,
            listener=_Relay(self),
        )
        self._installer = installer
        poll = Stream(self._poll_pods, name="install-pods", on_error=self._stream_failed)

        def run(_stop: threading.Event) -> None:
            try:
                result = installer.run()
            except IstioTuiError as err:
                result = InstallResult("failed", str(err))
            except Exception:
                self.post_message(self.Finished(InstallResult("failed", "the install stopped unexpectedly")))
                raise
            finally:
                poll.stop()
            self.post_message(self.Finished(result))

        self._streams = (Stream(run, name="install-run", on_error=self._stream_failed).start(), poll.start())

    def cancel(self) -> bool:
        """Stop the run after the current helm step (at once while verifying); False if none runs."""
        if self._installer is None or not self.is_busy:
            return False
        self._installer.cancel()
        self._streams[-1].stop()
        self.query_one("#btn-cancel", Button).disabled = True
        self.relabel("cancelling after the current helm step")
        return True

    def _stream_failed(self, err: BaseException) -> None:
        self.post_message(self.Crashed(err))

    @on(Crashed)
    def _crashed(self, message: Crashed) -> None:
        message.stop()
        self.istio_app.report_error(message.error, "install")

    def _poll_pods(self, stop: threading.Event) -> None:
        cluster = self.istio_app.cluster
        while True:
            self.post_message(self.Progressed(install_progress(cluster)))
            if stop.wait(PROGRESS_POLL_S):
                return

    @on(Stepped)
    def _stepped(self, message: Stepped) -> None:
        event = message.event
        if event.kind == "output":
            if event.line.strip():
                self._log.append(f"{event.release}: {event.line.strip()}")
                self.query_one("#inst-log", Static).update(Text("\n".join(self._log), style="dim"))
            return
        message.stop()
        if not apply_step(self.releases, event, done="deployed"):
            return
        if event.kind == "start":
            self.relabel(f"step {event.index + 1}/{event.total}: helm upgrade --install {event.release}")
        elif event.kind == "done":
            self.query_one("#inst-progress", ProgressBar).update(progress=event.index + 1)
        self._show_releases()

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        message.stop()
        table = self.query_one("#inst-pods", DataTable)
        table.clear()
        table.add_rows(pod_rows(message.progress.pods))
        notes = message.progress.notes
        self.query_one("#inst-notes", Static).update(Text("\n".join(f"! {n}" for n in notes), style="yellow"))

    @on(Verifying)
    def _verifying(self) -> None:
        self.relabel("helm done; waiting for the verify checklist")
        self.mark("✔")

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        """Shows the outcome here; the message goes on to the pane, which updates verify and the marks."""
        result = message.result
        self._installer = None
        self.query_one("#btn-cancel", Button).disabled = True
        if result.outcome == "done":
            self.done(Text("✔ installed; the verify checklist is green (step 4)", style="bold green"))
        elif result.outcome == "verify-red":
            self.done(Text("! installed, but verify is not green yet: see step 4", style="bold yellow"))
        else:
            cancelled = result.outcome == "cancelled"
            mark = "!" if cancelled else "✘"
            self.done(Text(f"{mark} {result.reason}", style="bold yellow" if cancelled else "bold red"))
            self.mark(mark)
            if not cancelled:
                self.notify(result.reason, title="Install failed", severity="error", timeout=10, markup=False)
