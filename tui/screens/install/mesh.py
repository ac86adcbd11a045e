"""Step 6: mesh expansion: register a VM as a WorkloadEntry and a Service or ServiceEntry, with a preview."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from tui.istio.mesh_expansion import (
    EXPOSE,
    VM_FIELDS,
    VmRegistration,
    build_registration,
    register_vm,
    validate_vm_field,
)
from tui.istio.plan import FieldError
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.step import WizardStep, button_row, field_row
from tui.screens.install.views import manifests_preview

LABELS = {
    "name": "Name",
    "namespace": "Namespace",
    "address": "Address",
    "ports": "Ports",
    "labels": "Labels",
    "service_account": "Service account",
    "expose": "Expose as",
}
DEFAULTS = {
    "name": "vm-web",
    "namespace": "default",
    "address": "",
    "ports": "http:8080",
    "labels": "app=vm-web",
    "service_account": "default",
}
PLACEHOLDERS = {
    "address": "IP or DNS name, e.g. 10.0.0.20",
    "ports": "http:8080,grpc:9090",
    "labels": "app=vm-web,version=v1",
}


class MeshStep(Horizontal, WizardStep):
    KEY = "mesh"
    STATUS_ID = "mesh-status"

    class Registered(Message):
        """``field`` names the field the API server refused ("" with ``message``: created)."""

        def __init__(self, field: str, message: str) -> None:
            super().__init__()
            self.field = field
            self.message = message

    def __init__(self) -> None:
        super().__init__(id="step-mesh", classes="wiz-step")
        self._touched: set[str] = set()
        self.registration: VmRegistration | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="mesh-form"):
            yield Static("6  Mesh expansion: register a VM", classes="wiz-title")
            for name, value in DEFAULTS.items():
                yield from field_row(
                    name,
                    LABELS[name],
                    Input(value, placeholder=PLACEHOLDERS.get(name, ""), id=f"vm-{name}", compact=True),
                    prefix="vm",
                )
            yield from field_row(
                "expose",
                LABELS["expose"],
                Select(
                    [("Service", "service"), ("ServiceEntry", "serviceentry")],
                    value=EXPOSE[0],
                    allow_blank=False,
                    id="vm-expose",
                    compact=True,
                ),
                prefix="vm",
            )
            yield Static("", id="mesh-status", classes="wiz-status")
            yield from button_row(
                Button(
                    "Register… (w)",
                    id="btn-register",
                    compact=True,
                    variant="primary",
                    disabled=self.readonly,
                ),
            )
            yield Static(
                "The VM's address is all you must type; esc returns to the step list, where w registers.",
                classes="wiz-hint",
            )
        with VerticalScroll(id="mesh-preview"):
            yield Static("", id="mesh-preview-body")

    def on_mount(self) -> None:
        self.revalidate()

    def _form(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: self.query_one(f"#vm-{name}", Input).value for name in VM_FIELDS if name != "expose"
        }
        values["expose"] = self.query_one("#vm-expose", Select).value
        return values

    def revalidate(self, *, show_all: bool = False) -> VmRegistration | None:
        values = self._form()
        errors: dict[str, str] = {}
        for name, raw in values.items():
            try:
                validate_vm_field(name, raw)
            except FieldError as err:
                errors[name] = str(err)
        for name in VM_FIELDS:
            self.show_error(
                f"vmerr-{name}", errors.get(name, "") if (show_all or name in self._touched) else ""
            )
        self.registration = None if errors else build_registration(**values)
        body = self.query_one("#mesh-preview-body", Static)
        if self.registration is not None:
            body.update(manifests_preview(self.registration.manifests()))
        else:
            missing = ", ".join(LABELS[n] for n in errors)
            body.update(
                Text(
                    f"The preview appears when every field is valid (still to fill or fix: {missing}).",
                    style="dim",
                )
            )
        return self.registration

    @on(Input.Changed, "#mesh-form Input")
    @on(Select.Changed, "#mesh-form Select")
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        event.stop()
        if event.control.id:
            self._touched.add(event.control.id.removeprefix("vm-"))
        self.revalidate()

    def register(self) -> bool:
        """Ask, then register; False (every bad field marked) when the form is not valid."""
        registration = self.revalidate(show_all=True)
        if registration is None:
            self.notify("fix the marked mesh-expansion fields first", severity="error")
            return False
        second = "Service" if registration.expose == "service" else "ServiceEntry"
        body = [
            f"WorkloadEntry {registration.namespace}/{registration.name} at {registration.address}",
            f"{second} {registration.namespace}/{registration.name} ({registration.host})",
            "ports " + ", ".join(f"{n}:{p}" for n, p in registration.ports),
            "labels " + ", ".join(f"{k}={v}" for k, v in registration.labels),
        ]
        screen = ConfirmScreen(
            "Register the VM in the mesh?",
            body,
            context=self.istio_app.context_name,
            confirm_label="Register",
            destructive=False,
        )

        def go(ok: bool | None) -> None:
            if ok:
                self.begin("creating the WorkloadEntry")
                self._register(registration)

        self.app.push_screen(screen, go)
        return True

    @work(thread=True, exit_on_error=False, group="install-mesh", description="register VM")
    def _register(self, registration: VmRegistration) -> None:
        try:
            stored = register_vm(self.istio_app.cluster, registration)
        except FieldError as err:
            self.post_message(self.Registered(err.field, str(err)))
            return
        names = [f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}" for o in stored]
        self.post_message(self.Registered("", ", ".join(names)))

    @on(Registered)
    def _registered(self, message: Registered) -> None:
        message.stop()
        if message.field:
            self.show_error(f"vmerr-{message.field}", message.message)
            self.done(Text(f"✘ {message.message}", style="bold red"))
        else:
            self.done(Text(f"✔ created {message.message}", style="bold green"))
            self.mark("✔")

    def address_empty(self) -> bool:
        return not self.query_one("#vm-address", Input).value.strip()
