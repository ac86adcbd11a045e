"""Step 2: the choices form with a live preview of the helm values and install.sh; ``ctrl+s`` saves the plan.

Every field is checked as it changes (``tui.istio.plan.validate_field``), so a bad value is named next to its
field and no plan exists until all are good; the pane reads ``plan`` and hears ``PlanChanged``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Select, Static

from tui.errors import IstioTuiError
from tui.istio.plan import (
    ADDONS,
    DEFAULT_ISTIO_VERSION,
    FIELDS,
    INGRESS_TYPES,
    PROFILES,
    FieldError,
    InstallPlan,
    build_plan,
    validate_field,
)
from tui.models import plural
from tui.screens.install.step import WizardStep, button_row, field_row
from tui.screens.install.views import plan_preview

DEFAULT_SAVE_DIR = "istio-plan"
LABELS = {
    "istio_version": "Istio version",
    "profile": "Profile",
    "ingress_type": "Ingress type",
    "node_port_http2": "http2 nodePort",
    "node_port_https": "https nodePort",
    "ingress_gateway": "Ingress gateway",
    "egress_gateway": "Egress gateway",
    "tracing": "Tracing",
    "sampling": "Sampling %",
    "addons": "Addons",
    "chart_source": "Chart source",
    "save_dir": "Save to",
}


class ChoicesStep(Horizontal, WizardStep):
    KEY = "choices"

    class PlanChanged(Message):
        """The form describes a different plan now (None: a field is bad, ``error`` names it)."""

        def __init__(self, plan: InstallPlan | None, error: str) -> None:
            super().__init__()
            self.plan = plan
            self.error = error

    class Saved(Message):
        def __init__(self, where: str, what: str) -> None:
            super().__init__()
            self.where = where
            self.what = what

    def __init__(self, *, sandbox: bool) -> None:
        super().__init__(id="step-choices", classes="wiz-step")
        self._sandbox = sandbox
        self.plan: InstallPlan | None = None
        self.plan_error = ""
        self._shown_plan: InstallPlan | None = None
        self.ingress_touched = False

    def compose(self) -> ComposeResult:
        sandbox = self._sandbox
        ro = self.readonly
        with VerticalScroll(id="choices-form"):
            yield Static("2  Choices", classes="wiz-title")
            yield from field_row(
                "istio_version",
                LABELS["istio_version"],
                Input(DEFAULT_ISTIO_VERSION, id="f-istio_version", compact=True),
            )
            yield from field_row(
                "profile",
                LABELS["profile"],
                Select(
                    [(p, p) for p in PROFILES],
                    value="demo" if sandbox else "default",
                    allow_blank=False,
                    id="f-profile",
                    compact=True,
                ),
            )
            yield from field_row(
                "ingress_type",
                LABELS["ingress_type"],
                Select(
                    [(t, t) for t in INGRESS_TYPES],
                    value="NodePort" if sandbox else "LoadBalancer",
                    allow_blank=False,
                    id="f-ingress_type",
                    compact=True,
                ),
            )
            for name in ("node_port_http2", "node_port_https"):
                yield from field_row(
                    name,
                    LABELS[name],
                    Input(placeholder="auto (30000-32767)", id=f"f-{name}", compact=True),
                )
            yield from field_row(
                "ingress_gateway",
                LABELS["ingress_gateway"],
                Checkbox("istio-ingressgateway", value=True, id="f-ingress_gateway", compact=True),
            )
            yield from field_row(
                "egress_gateway",
                LABELS["egress_gateway"],
                Checkbox("istio-egressgateway", id="f-egress_gateway", compact=True),
            )
            yield from field_row(
                "tracing",
                LABELS["tracing"],
                Checkbox("meshConfig.enableTracing", True, id="f-tracing", compact=True),
            )
            yield from field_row(
                "sampling",
                LABELS["sampling"],
                Input("1", placeholder="0-100", id="f-sampling", compact=True),
            )
            yield from field_row(
                "addons",
                LABELS["addons"],
                Input(",".join(ADDONS), placeholder=",".join(ADDONS), id="f-addons", compact=True),
            )
            yield from field_row(
                "chart_source",
                LABELS["chart_source"],
                Input(
                    "sandbox" if sandbox else "",
                    placeholder="official Istio repository",
                    id="f-chart_source",
                    compact=True,
                ),
            )
            yield from field_row(
                "save_dir",
                LABELS["save_dir"],
                Input(DEFAULT_SAVE_DIR, placeholder="directory", id="f-save_dir", compact=True),
            )
            yield Static("", id="save-status", classes="wiz-note")
            yield from button_row(
                Button("Save plan (^s)", id="btn-save", compact=True),
                Button(
                    "Install… (i)", id="btn-install-choices", compact=True, variant="primary", disabled=ro
                ),
            )
            yield Static(
                "Typing goes to the field; esc returns to the step list, where 1-8, p, i and ^s work.",
                classes="wiz-hint",
            )
        with VerticalScroll(id="choices-preview"):
            yield Static("", id="preview-status", markup=False)
            yield Static("", id="preview-body")

    def on_mount(self) -> None:
        self.revalidate()

    def _form(self) -> dict[str, Any]:
        def text(name: str) -> str:
            return self.query_one(f"#f-{name}", Input).value

        return {
            "istio_version": text("istio_version"),
            "profile": self.query_one("#f-profile", Select).value,
            "ingress_type": self.query_one("#f-ingress_type", Select).value,
            "node_port_http2": text("node_port_http2"),
            "node_port_https": text("node_port_https"),
            "ingress_gateway": self.query_one("#f-ingress_gateway", Checkbox).value,
            "egress_gateway": self.query_one("#f-egress_gateway", Checkbox).value,
            "tracing": self.query_one("#f-tracing", Checkbox).value,
            "sampling": text("sampling"),
            "addons": text("addons"),
            "chart_source": text("chart_source"),
        }

    def revalidate(self) -> InstallPlan | None:
        """Check every field, then the cross-field rules; mark each bad field and refresh the preview."""
        values = self._form()
        errors: dict[str, str] = {}
        for name, raw in values.items():
            try:
                validate_field(name, raw)
            except FieldError as err:
                errors[name] = str(err)
        plan: InstallPlan | None = None
        if not errors:
            try:
                plan = build_plan(**values)
            except FieldError as err:
                errors[err.field] = str(err)
        for name in FIELDS:
            self.show_error(f"err-{name}", errors.get(name, ""))
        changed = plan != self.plan or plan is None
        self.plan = plan
        self.query_one("#preview-body", Static).set_class(plan is None, "-stale")
        status = self.query_one("#preview-status", Static)
        if plan is None:
            first = next(iter(errors))
            self.plan_error = f"{LABELS.get(first, first)}: {errors[first]}"
            status.update(
                Text(
                    f"✘ fix {plural(len(errors), 'field')} first; nothing is applied with a bad value\n"
                    f"  {self.plan_error}",
                    style="bold red",
                )
            )
            self.mark("✘")
        else:
            self.plan_error = ""
            status.update(Text(f"✔ {plan.summary()}", style="green"))
            if plan != self._shown_plan:
                self._shown_plan = plan
                self.query_one("#preview-body", Static).update(plan_preview(plan))
            self.mark("✔")
        if changed:
            self.post_message(self.PlanChanged(plan, self.plan_error))
        return plan

    @on(Input.Changed, "#choices-form Input")
    @on(Select.Changed, "#choices-form Select")
    @on(Checkbox.Changed, "#choices-form Checkbox")
    def _choice_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        event.stop()
        if event.control.id == "f-save_dir":
            self.show_error("err-save_dir", "")
            return
        if event.control.id == "f-ingress_type" and self.query_one("#f-ingress_type", Select).has_focus:
            self.ingress_touched = True
        self.revalidate()

    def prefer_node_port(self) -> bool:
        """Preflight found no LoadBalancer provider: NodePort, unless the user chose the type themselves."""
        select = self.query_one("#f-ingress_type", Select)
        if self.ingress_touched or select.value != "LoadBalancer":
            return False
        select.value = "NodePort"
        return True

    def save(self, plan: InstallPlan) -> None:
        target = self.query_one("#f-save_dir", Input).value.strip()
        if not target:
            self.show_error("err-save_dir", "name a directory to save the plan to")
            return
        self._save(plan, target)

    @work(thread=True, exit_on_error=False, group="install-save", description="save plan")
    def _save(self, plan: InstallPlan, target: str) -> None:
        try:
            written = plan.write(target)
        except IstioTuiError as err:
            self.post_message(self.Saved("", str(err)))
            return
        self.post_message(self.Saved(str(Path(target).expanduser().resolve()), plural(len(written), "file")))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        event.stop()
        if not event.where:
            self.show_error("err-save_dir", event.what)
            self.notify(event.what, severity="error", markup=False)
            return
        self.show_error("err-save_dir", "")
        self.query_one("#save-status", Static).update(
            Text(f"✔ saved {event.what} to {event.where} (run install.sh there)", style="green")
        )
        self.notify(f"saved {event.what} to {event.where}", markup=False)
