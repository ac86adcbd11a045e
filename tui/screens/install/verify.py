"""Step 4: the verify checklist and the ``INGRESS_HOST:PORT`` line to copy; reports come from a one-off check
here or from the install run's wait for green (the pane hands those down)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from tui.istio.plan import InstallPlan
from tui.istio.verify import VerifyReport, run_verify
from tui.screens.install.step import WizardStep, button_row
from tui.screens.install.views import Checklist, gateway_banner


class VerifyStep(VerticalScroll, WizardStep):
    KEY = "verify"
    STATUS_ID = "verify-status"

    class Checked(Message):
        def __init__(self, report: VerifyReport) -> None:
            super().__init__()
            self.report = report

    def __init__(self) -> None:
        super().__init__(id="step-verify", classes="wiz-step")
        self.report: VerifyReport | None = None

    def compose(self) -> ComposeResult:
        yield Static("4  Verify", classes="wiz-title")
        yield Static("", id="verify-status", classes="wiz-status")
        yield Static("", id="verify-lines")
        yield Static("", id="verify-address")
        yield from button_row(
            Button("Verify again (v)", id="btn-verify", compact=True),
            Button("Next: addon access (5)", id="btn-go-addons", compact=True),
        )

    def run(self, plan: InstallPlan | None) -> None:
        if self.is_busy:
            return
        self.begin("checking istiod, webhooks, CRDs and the gateway")
        self.report = None
        self._check(plan)

    @work(thread=True, exit_on_error=False, group="install-verify", description="verify")
    def _check(self, plan: InstallPlan | None) -> None:
        self.post_message(self.Checked(run_verify(self.istio_app.cluster, plan=plan)))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        message.stop()
        self.show(message.report)
        self.finish()

    def waiting(self) -> None:
        """The install run's helm steps are done; its reports arrive through ``show``."""
        self.report = None
        self.begin("waiting for istiod, webhooks, CRDs and the gateway")
        self.mark("")

    def show(self, report: VerifyReport) -> None:
        self.report = report
        self.query_one("#verify-lines", Static).update(Checklist(report.lines))
        self.query_one("#verify-address", Static).update(gateway_banner(report.ingress))
        if report.ok:
            self.done(Text(f"✔ Istio {report.version} is installed and healthy", style="bold green"))
        self.mark("✔" if report.ok else "✘")

    def finish(self) -> None:
        """The last report is final: say so, green or with the first line that is not."""
        report = self.report
        if report is None:
            self.done(Text("verify did not finish", style="red"))
        elif report.ok:
            self.done(Text(f"✔ Istio {report.version} is installed and healthy", style="bold green"))
        else:
            bad = next(line for line in report.lines if line.status != "pass")
            self.done(Text(f"✘ not green: {bad.title}: {bad.reason}", style="bold red"))

    def reset(self) -> None:
        """A new install or an uninstall: the last checklist no longer describes the cluster."""
        self.report = None
        self.query_one("#verify-lines", Static).update("")
        self.query_one("#verify-address", Static).update(gateway_banner(None))
        self.set_status(Text("verify runs when the install's helm steps are done (or press v)", style="dim"))
        self.mark("")
