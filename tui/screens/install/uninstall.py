"""Step 7: uninstall: the releases found, helm uninstall in reverse order, then the leftover audit."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Static

from tui.errors import IstioTuiError
from tui.istio.helm import StepEvent
from tui.istio.plan import ISTIO_NAMESPACE
from tui.istio.uninstall import (
    CRD_WARNING,
    UninstallReport,
    installed_releases,
    leftover_audit,
    run_uninstall,
)
from tui.models import plural
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.run import helm_kubeconfig
from tui.screens.install.step import WizardStep, button_row
from tui.screens.install.views import ReleaseState, apply_step, leftovers, release_rows


def scan_summary(found: list[str], audit: list[Any]) -> str:
    """While releases are installed, the audit lists Istio as it is, not what an uninstall left behind."""
    if found:
        return (
            f"{plural(len(found), 'release')} installed; "
            f"{plural(len(audit), 'Istio object')} an uninstall will remove"
        )
    if audit:
        return f"no releases installed; {plural(len(audit), 'leftover item')}"
    return "no releases installed and nothing left behind"


class UninstallStep(VerticalScroll, WizardStep):
    KEY = "uninstall"
    STATUS_ID = "un-status"

    class Scanned(Message):
        def __init__(self, found: list[str], audit: list[Any]) -> None:
            super().__init__()
            self.found = found
            self.audit = audit

    class Stepped(Message):
        def __init__(self, event: StepEvent) -> None:
            super().__init__()
            self.event = event

    class Finished(Message):
        """``report`` is None when the run failed; ``reason`` says why."""

        def __init__(self, report: UninstallReport | None, reason: str = "") -> None:
            super().__init__()
            self.report = report
            self.reason = reason

    def __init__(self) -> None:
        super().__init__(id="step-uninstall", classes="wiz-step")
        self.found: list[str] = []
        self.report: UninstallReport | None = None
        self._releases: list[ReleaseState] = []

    def compose(self) -> ComposeResult:
        yield Static("7  Uninstall", classes="wiz-title")
        yield Static("", id="un-found", markup=False)
        yield Checkbox(f"also delete the namespace {ISTIO_NAMESPACE}", id="un-namespace", compact=True)
        yield Checkbox(
            "also delete the Istio CRDs (destroys all Istio configuration in the cluster)",
            id="un-crds",
            compact=True,
        )
        yield Static("", id="un-status", classes="wiz-status")
        table: DataTable[Text | str] = DataTable(
            id="un-releases", cursor_type="none", show_cursor=False, classes="-hidden"
        )
        table.add_columns("#", "RELEASE", "STATE", "TIME", "DETAIL")
        yield table
        yield Static("", id="un-audit")
        yield from button_row(
            Button(
                "Uninstall… (u)", id="btn-uninstall", compact=True, variant="error", disabled=self.readonly
            ),
            Button("Audit again", id="btn-audit", compact=True),
        )

    def scan(self) -> None:
        if self.is_busy:
            return
        self.begin("looking for releases and leftovers")
        self._scan()

    @work(thread=True, exit_on_error=False, group="install-scan", description="uninstall scan")
    def _scan(self) -> None:
        cluster = self.istio_app.cluster
        self.post_message(self.Scanned(installed_releases(cluster), leftover_audit(cluster)))

    @on(Scanned)
    def _scanned(self, message: Scanned) -> None:
        message.stop()
        self.found = message.found
        text = (
            ("Releases to remove, in this order: " + ", ".join(self.found))
            if self.found
            else f"No Istio or addon helm releases in {ISTIO_NAMESPACE}."
        )
        self.query_one("#un-found", Static).update(text)
        self.query_one("#un-audit", Static).update(leftovers(message.audit, before=bool(self.found)))
        self.done(Text(scan_summary(self.found, message.audit), style="dim"))

    def uninstall(self) -> None:
        delete_ns = self.query_one("#un-namespace", Checkbox).value
        delete_crds = self.query_one("#un-crds", Checkbox).value
        found = list(self.found)
        body = ["helm uninstall, addons first:"]
        body += [f"  {i}. {name}" for i, name in enumerate(found, start=1)] or ["  (no releases found)"]
        if delete_ns:
            body.append(f"Then delete the namespace {ISTIO_NAMESPACE} and everything in it.")
        if delete_crds:
            body += ["", "Then delete every *.istio.io CRD.", CRD_WARNING]
        screen = ConfirmScreen(
            "Uninstall Istio?",
            body,
            context=self.istio_app.context_name,
            confirm_label="Uninstall",
            destructive=True,
        )

        def go(ok: bool | None) -> None:
            if ok:
                self._releases = [ReleaseState(name, "") for name in found]
                self.query_one("#un-releases", DataTable).remove_class("-hidden")
                self._show_releases()
                self.begin("helm uninstall, then the leftover audit")
                self.mark("…")
                self._uninstall(delete_crds, delete_ns)

        self.app.push_screen(screen, go)

    @work(thread=True, exit_on_error=False, group="install-uninstall", description="uninstall")
    def _uninstall(self, delete_crds: bool, delete_namespace: bool) -> None:
        cluster = self.istio_app.cluster
        try:
            report = run_uninstall(
                cluster,
                kubeconfig=helm_kubeconfig(cluster.kubeconfig),
                context=cluster.context,
                delete_crds=delete_crds,
                delete_namespace=delete_namespace,
                on_event=self._relay,
            )
        except IstioTuiError as err:
            self.post_message(self.Finished(None, str(err)))
            return
        self.post_message(self.Finished(report))

    def _relay(self, event: StepEvent) -> None:
        self.post_message(self.Stepped(event))

    def _show_releases(self) -> None:
        table = self.query_one("#un-releases", DataTable)
        table.clear()
        table.add_rows(release_rows(self._releases, chart=False))

    @on(Stepped)
    def _stepped(self, message: Stepped) -> None:
        message.stop()
        event = message.event
        if not apply_step(self._releases, event, done="uninstalled"):
            return
        if event.kind == "start":
            self.relabel(f"step {event.index + 1}/{event.total}: helm uninstall {event.release}")
        self._show_releases()

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        """Shown here; the message goes on to the pane, which resets the other steps after a clean run."""
        result = message.report
        if result is None:
            self.done(Text(f"✘ {message.reason}", style="bold red"))
            self.mark("✘")
            self.notify(message.reason, title="Uninstall failed", severity="error", timeout=10, markup=False)
            return
        self.found = []
        self.report = result
        self.query_one("#un-found", Static).update(f"No Istio or addon helm releases in {ISTIO_NAMESPACE}.")
        self.query_one("#un-audit", Static).update(leftovers(result.leftovers))
        parts = [f"removed {plural(len(result.releases), 'release')}"]
        if result.deleted_crds:
            parts.append(plural(len(result.deleted_crds), "CRD"))
        if result.namespace_deleted:
            parts.append(f"namespace {ISTIO_NAMESPACE}")
        style = "bold green" if result.clean else "bold yellow"
        self.done(Text(("✔ " if result.clean else "! ") + ", ".join(parts), style=style))
        self.mark("✔" if result.clean else "!")
