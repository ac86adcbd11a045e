"""Step 5: addon access: Ingresses for the plan's addons with a chosen class, and the /etc/hosts lines."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Static

from tui import kube
from tui.errors import NotFound
from tui.istio import addons as addon_access
from tui.istio.plan import ISTIO_NAMESPACE, FieldError, InstallPlan
from tui.models import plural
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.step import WizardStep, button_row, field_row


class AddonsStep(VerticalScroll, WizardStep):
    KEY = "addons"
    STATUS_ID = "addons-status"

    class Found(Message):
        """Ingresses created (empty when only looking) and the hosts lines for the node's address."""

        def __init__(self, created: list[str], hosts: list[str], applied: bool) -> None:
            super().__init__()
            self.created = created
            self.hosts = hosts
            self.applied = applied

    class NoIstio(Message):
        """The Ingresses' namespace does not exist: Istio has not been installed."""

    def __init__(self) -> None:
        super().__init__(id="step-addons", classes="wiz-step")
        self.plan: InstallPlan | None = None
        self.plan_error = ""

    def compose(self) -> ComposeResult:
        yield Static("5  Addon access: Ingresses and /etc/hosts", classes="wiz-title")
        yield from field_row(
            "ingress_class",
            "ingressClassName",
            Input(addon_access.DEFAULT_INGRESS_CLASS, id="f-ingress_class", compact=True),
        )
        yield Static("", id="addons-status", classes="wiz-status")
        yield Static("", id="addons-plan", markup=False)
        yield Static("", id="addons-hosts")
        yield from button_row(
            Button(
                "Create Ingresses… (g)",
                id="btn-ingresses",
                compact=True,
                variant="primary",
                disabled=self.readonly,
            ),
        )

    @property
    def addons(self) -> tuple[str, ...]:
        return self.plan.addons if self.plan is not None else ()

    def refresh_plan(self) -> None:
        """On showing the step: what the plan exposes, and the hosts lines for the node address."""
        info = self.query_one("#addons-plan", Static)
        if self.plan is None:
            info.update(Text(f"The plan is not valid ({self.plan_error}); fix it on step 2.", style="red"))
            return
        if not self.addons:
            info.update(
                Text(
                    "The plan has no addons: add some on step 2 (prometheus, grafana, jaeger, kiali).",
                    style="yellow",
                )
            )
            return
        info.update(Text.assemble(("Ingresses for: ", "bold"), ", ".join(self.addons)))
        if not self.is_busy:
            self.begin("finding the node address")
            self._hosts(self.addons, "")

    @on(Input.Changed, "#f-ingress_class")
    def _ingress_class_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            addon_access.validate_ingress_class(event.value)
        except FieldError as err:
            self.show_error("err-ingress_class", str(err))
        else:
            self.show_error("err-ingress_class", "")

    def create(self) -> bool:
        """Ask, then create the Ingresses; False (with the reason shown) when there is nothing to create."""
        addons = self.addons
        if not addons:
            self.refresh_plan()
            self.notify("the plan has no addons to expose", severity="warning")
            return False
        try:
            docs = addon_access.addon_ingresses(
                addons, ingress_class=self.query_one("#f-ingress_class", Input).value
            )
        except FieldError as err:
            self.show_error("err-ingress_class", str(err))
            return False
        ingress_class = docs[0]["spec"]["ingressClassName"]
        body = [f"networking.k8s.io/v1 Ingresses in {ISTIO_NAMESPACE}, ingressClassName {ingress_class}:"]
        body += [f"  {d['metadata']['name']}: {d['spec']['rules'][0]['host']}" for d in docs]
        screen = ConfirmScreen(
            "Create addon Ingresses?",
            body,
            context=self.istio_app.context_name,
            confirm_label="Create",
            destructive=False,
        )

        def go(ok: bool | None) -> None:
            if ok:
                self.begin("creating Ingresses")
                self._hosts(addons, ingress_class)

        self.app.push_screen(screen, go)
        return True

    @work(thread=True, exit_on_error=False, group="install-addons", description="addon Ingresses")
    def _hosts(self, addons: tuple[str, ...], ingress_class: str) -> None:
        cluster = self.istio_app.cluster
        created: list[str] = []
        if ingress_class:
            try:  # before the IngressClass: a refusal changes nothing
                cluster.get(kube.NAMESPACES, ISTIO_NAMESPACE)
            except NotFound:
                self.post_message(self.NoIstio())
                return
            stored = addon_access.apply_addon_ingresses(cluster, addons, ingress_class=ingress_class)
            created = [f"{o['metadata']['name']} -> {o['spec']['rules'][0]['host']}" for o in stored]
        ip = addon_access.node_ip(cluster)
        lines = addon_access.hosts_lines(ip, addons, port=addon_access.gateway_port(cluster))
        self.post_message(self.Found(created, lines, bool(ingress_class)))

    @on(NoIstio)
    def _no_istio(self, message: NoIstio) -> None:
        message.stop()
        self.done(
            Text(
                f"✘ Istio is not installed yet (no {ISTIO_NAMESPACE} namespace): run step 3 Install first",
                style="bold red",
            )
        )
        self.mark("✘")

    @on(Found)
    def _found(self, message: Found) -> None:
        message.stop()
        out = Text()
        if message.created:
            out.append("Ingresses created or updated:\n", style="bold green")
            out.append("".join(f"  ✔ {line}\n" for line in message.created))
        out.append("Add these lines to /etc/hosts:\n", style="bold")
        out.append("\n".join(message.hosts), style="green")
        self.query_one("#addons-hosts", Static).update(out)
        if message.applied:
            created = plural(len(message.created), "Ingress", "Ingresses")
            self.done(Text(f"✔ {created} in {ISTIO_NAMESPACE}", style="bold green"))
            self.mark("✔")
        else:
            self.done(Text("press g (or the button) to create the Ingresses", style="dim"))
