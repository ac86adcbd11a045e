"""Step 1: can Istio be installed here? The checklist, with what to fix; it runs when the tab first opens."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from tui.istio import gatewayapi
from tui.istio.preflight import run_preflight
from tui.models import CheckLine, plural
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.step import WizardStep, button_row
from tui.screens.install.views import Checklist


class PreflightStep(VerticalScroll, WizardStep):
    KEY = "preflight"
    STATUS_ID = "pre-status"

    class Checked(Message):
        """A new checklist: from this step's own run or from the one an install starts with."""

        def __init__(self, lines: Sequence[CheckLine]) -> None:
            super().__init__()
            self.lines = tuple(lines)

    def __init__(self) -> None:
        super().__init__(id="step-preflight", classes="wiz-step")
        self.lines: tuple[CheckLine, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("1  Preflight: can Istio be installed on this cluster?", classes="wiz-title")
        yield Static("", id="pre-status", classes="wiz-status")
        yield Static("", id="pre-lines")
        yield from button_row(
            Button("Run again (p)", id="btn-preflight", compact=True),
            Button("Install Gateway API CRDs (G)", id="btn-gateway-crds", compact=True),
            Button("Next: choices (2)", id="btn-go-choices", compact=True),
        )

    def on_mount(self) -> None:
        self.set_status(Text("preflight runs when you open this tab", style="dim"))

    @property
    def helm_problem(self) -> str:
        """Why helm cannot run ("" when it can): installing is blocked, saving the plan is not."""
        helm = next((line for line in self.lines if line.key == "helm"), None)
        return f"{helm.reason}: {helm.fix}" if helm is not None and not helm.ok else ""

    @property
    def load_balancer_missing(self) -> bool:
        lb = next((line for line in self.lines if line.key == "load-balancer"), None)
        return lb is not None and lb.status == "warn"

    @property
    def gateway_api_missing(self) -> bool:
        line = next((line for line in self.lines if line.key == "gateway-api"), None)
        return line is not None and line.status == "warn" and "lookup failed" not in line.reason

    def offer_gateway_api(self, *, sandbox: bool, istio_version: str, ingress_type: str | None) -> None:
        """Confirm, then install the pinned standard channel: the bundled CRDs on the sandbox, the upstream
        release through ``kubectl apply --server-side`` elsewhere; preflight runs again afterwards."""
        if self.is_busy:
            return
        if not self.gateway_api_missing:
            self.notify("The Gateway API CRDs are already installed (or preflight has not run yet: p)")
            return
        source = (
            "the copy bundled with istio-tui (the sandbox cannot fetch)"
            if sandbox
            else f"kubectl apply --server-side -f {gatewayapi.BUNDLE_URL}"
        )
        lines = [
            f"The Kubernetes Gateway API {gatewayapi.BUNDLE_VERSION}, standard channel: GatewayClass,",
            "Gateway, HTTPRoute, GRPCRoute, ReferenceGrant and BackendTLSPolicy CRDs.",
            "",
            f"From: {source}",
            "",
            "Istio then serves Gateways of class istio (and istio-waypoint for ambient).",
        ]

        def answered(yes: bool | None) -> None:
            if yes:
                self.begin("installing the Gateway API CRDs")
                self.mark("…")
                self._install_crds(sandbox, istio_version, ingress_type)

        screen = ConfirmScreen(
            "Install the Gateway API CRDs?",
            lines,
            context=self.istio_app.context_name,
            confirm_label="Install",
            destructive=False,
        )
        self.app.push_screen(screen, answered)

    @work(thread=True, exit_on_error=False, group="install-preflight", description="Gateway API CRDs")
    def _install_crds(self, sandbox: bool, istio_version: str, ingress_type: str | None) -> None:
        cluster = self.istio_app.cluster
        try:
            state = gatewayapi.install_crds(cluster, sandbox=sandbox)
            self.notify(f"Installed: {state.summary}", markup=False)
        finally:
            lines = run_preflight(cluster, istio_version=istio_version, ingress_type=ingress_type)
            self.post_message(self.Checked(lines))

    def run(self, *, istio_version: str, ingress_type: str | None) -> None:
        if self.is_busy:
            return
        self.begin("running preflight checks")
        self.mark("…")
        self._check(istio_version, ingress_type)

    @work(thread=True, exit_on_error=False, group="install-preflight", description="preflight checks")
    def _check(self, istio_version: str, ingress_type: str | None) -> None:
        lines = run_preflight(self.istio_app.cluster, istio_version=istio_version, ingress_type=ingress_type)
        self.post_message(self.Checked(lines))

    def show(self, lines: Sequence[CheckLine]) -> None:
        self.lines = tuple(lines)
        self.query_one("#pre-lines", Static).update(Checklist(tuple(lines)))
        fails = [line for line in lines if not line.ok]
        warns = [line for line in lines if line.status == "warn"]
        if fails:
            summary = Text(
                f"✘ {plural(len(fails), 'check')} failed: installing is blocked until they pass",
                style="bold red",
            )
            if self.helm_problem:
                summary.append("\n  The plan can still be previewed and saved on step 2 (ctrl+s).", style="")
        elif warns:
            summary = Text(
                f"! passed with {plural(len(warns), 'warning')}; next: step 2, Choices", style="bold yellow"
            )
        else:
            summary = Text("✔ all checks passed; next: step 2, Choices", style="bold green")
        self.done(summary)
        self.mark("✘" if fails else ("!" if warns else "✔"))
