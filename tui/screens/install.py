"""The install wizard: preflight, choices with a live preview, helm install, verify, addons, VMs, uninstall.

All decisions live in ``tui.istio`` (plan, helm, preflight, verify, addons, mesh_expansion, uninstall); this
pane only collects input, asks for confirmation naming the context, and shows progress. Every call that
blocks (API server, helm, files) runs in a thread worker. Workers never touch widgets: they drop their latest
result into an inbox and a timer applies it a few times a second, so a chatty helm run costs a handful of
repaints, not one per output line.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    DataTable,
    Input,
    Label,
    OptionList,
    ProgressBar,
    Select,
    Static,
)
from textual.widgets.option_list import Option

from tui.errors import IstioTuiError
from tui.istio import addons as addon_access
from tui.istio.helm import Cancelled, HelmRunner, StepEvent
from tui.istio.mesh_expansion import (
    EXPOSE,
    VM_FIELDS,
    VmRegistration,
    build_registration,
    register_vm,
    validate_vm_field,
)
from tui.istio.plan import (
    ADDONS,
    DEFAULT_ISTIO_VERSION,
    FIELDS,
    INGRESS_TYPES,
    ISTIO_NAMESPACE,
    PROFILES,
    FieldError,
    InstallPlan,
    build_plan,
    validate_field,
)
from tui.istio.preflight import run_preflight
from tui.istio.uninstall import (
    CRD_WARNING,
    UninstallReport,
    installed_releases,
    leftover_audit,
    run_uninstall,
)
from tui.istio.verify import InstallProgress, VerifyReport, install_progress, run_verify, wait_for_verify
from tui.models import CheckLine
from tui.screens.confirm import ConfirmScreen
from tui.screens.install_views import (
    STEPS,
    ReleaseState,
    checklist,
    gateway_banner,
    leftovers,
    manifests_preview,
    plan_preview,
    pod_rows,
    release_rows,
    step_prompt,
)
from tui.widgets.pane import READ_ONLY_REASON, PaneAction, WorkPane

if TYPE_CHECKING:
    from tui.app import IstioApp

APPLY_INTERVAL_S = 0.2
PROGRESS_POLL_S = 1.0
VERIFY_TIMEOUT_S = 120.0
LOG_LINES = 4
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
DEFAULT_SAVE_DIR = "istio-plan"
_LABELS = {
    "istio_version": "Istio version",
    "profile": "Profile",
    "ingress_type": "Ingress type",
    "node_port_http2": "http2 nodePort",
    "node_port_https": "https nodePort",
    "egress_gateway": "Egress gateway",
    "tracing": "Tracing",
    "sampling": "Sampling %",
    "addons": "Addons",
    "chart_source": "Chart source",
    "save_dir": "Save to",
}
_VM_LABELS = {
    "name": "Name",
    "namespace": "Namespace",
    "address": "Address",
    "ports": "Ports",
    "labels": "Labels",
    "service_account": "Service account",
    "expose": "Expose as",
}


class InstallPane(WorkPane):
    """Seven steps in a list on the left; the chosen step's view on the right."""

    PANE_ID = "install"
    TITLE = "Install"
    ACTIONS: ClassVar[tuple[PaneAction, ...]] = (
        PaneAction(
            "run_preflight",
            "Run preflight",
            "check the cluster and helm before installing",
            key="p",
            short="Preflight",
        ),
        PaneAction(
            "save_plan",
            "Save plan",
            "write the values files, install.sh and uninstall.sh to 'Save to'",
            key="ctrl+s",
            key_display="^s",
            short="Save plan",
        ),
        PaneAction(
            "install",
            "Install Istio",
            "helm upgrade --install every release of the plan, in order",
            key="i",
            destructive=True,
            short="Install",
        ),
        PaneAction(
            "cancel_install", "Cancel install", "stop after the current helm step", key="x", short="Cancel"
        ),
        PaneAction(
            "verify", "Verify", "check istiod, webhooks, CRDs, the gateway address and the version", key="v"
        ),
        PaneAction(
            "create_ingresses",
            "Create addon Ingresses",
            "addon Ingresses (networking.k8s.io/v1) with the chosen class",
            key="g",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "register_vm",
            "Register VM",
            "create the WorkloadEntry and its Service or ServiceEntry",
            key="w",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "uninstall",
            "Uninstall Istio",
            "helm uninstall in reverse order, then the leftover audit",
            key="u",
            destructive=True,
            show=False,
        ),
    )
    BINDINGS = [
        *[
            Binding(str(i), f"show_step('{key}')", title, show=False, id=f"install.step-{i}")
            for i, (key, title) in enumerate(STEPS, start=1)
        ],
        Binding("escape", "focus_steps", "Step list", show=False, id="install.focus-steps"),
    ]
    KEY_HELP: ClassVar[tuple[tuple[str, str], ...]] = (
        ("1-7", "go to a wizard step (outside text fields)"),
        ("tab", "next field; the buttons do what the keys do"),
        ("esc", "leave a field for the step list, where the keys work"),
    )

    def __init__(self) -> None:
        super().__init__(id="install-pane")
        self._lock = threading.Lock()
        self._inbox: dict[str, Any] = {}
        self._events: list[tuple[str, StepEvent]] = []
        self._outcomes: list[tuple[str, Any]] = []
        self._busy: dict[str, tuple[str, float]] = {}
        self._tick = 0
        self._stop = threading.Event()
        self._started = False
        self._plan: InstallPlan | None = None
        self._shown_plan: InstallPlan | None = None
        self._plan_error = ""
        self._preflight: list[CheckLine] = []
        self._helm_problem = ""
        self._ingress_touched = False
        self._runner: HelmRunner | None = None
        self._install_stop: threading.Event | None = None
        self._releases: list[ReleaseState] = []
        self._un_releases: list[ReleaseState] = []
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._verify: VerifyReport | None = None
        self._marks: dict[str, str] = {}
        self._vm_touched: set[str] = set()
        self._vm: VmRegistration | None = None
        self._found_releases: list[str] = []
        self._uninstall_report: UninstallReport | None = None

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    @property
    def plan(self) -> InstallPlan | None:
        """The plan the form describes now, or None while a field is bad."""
        return self._plan

    @property
    def preflight_lines(self) -> tuple[CheckLine, ...]:
        return tuple(self._preflight)

    @property
    def verify_report(self) -> VerifyReport | None:
        return self._verify

    @property
    def uninstall_report(self) -> UninstallReport | None:
        return self._uninstall_report

    @property
    def release_states(self) -> tuple[ReleaseState, ...]:
        return tuple(self._releases)

    @property
    def busy(self) -> frozenset[str]:
        """Tasks running now: preflight, install, verify, addons, mesh, uninstall."""
        return frozenset(self._busy)

    @property
    def is_sandbox(self) -> bool:
        app = self.istio_app
        return bool(app.settings.sandbox or app.sandbox_kubeconfig or app.context_name == "sandbox")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="wiz"):
            yield OptionList(
                *[Option(step_prompt(i, title, ""), id=key) for i, (key, title) in enumerate(STEPS, start=1)],
                id="wiz-steps",
            )
            with ContentSwitcher(id="wiz-body", initial="step-preflight"):
                yield from self._compose_preflight()
                yield from self._compose_choices()
                yield from self._compose_install()
                yield from self._compose_verify()
                yield from self._compose_addons()
                yield from self._compose_mesh()
                yield from self._compose_uninstall()

    def _field(self, name: str, label: str, widget: Widget, *, prefix: str = "") -> ComposeResult:
        with Horizontal(classes="wiz-field", id=f"{prefix}row-{name}"):
            yield Label(label, classes="wiz-label")
            yield widget
        yield Static("", id=f"{prefix}err-{name}", classes="wiz-error -hidden", markup=False)

    def _buttons(self, *buttons: Button) -> ComposeResult:
        with Horizontal(classes="wiz-buttons"):
            yield from buttons

    def _compose_preflight(self) -> ComposeResult:
        with VerticalScroll(id="step-preflight", classes="wiz-step"):
            yield Static("1  Preflight: can Istio be installed on this cluster?", classes="wiz-title")
            yield Static("", id="pre-status", classes="wiz-status")
            yield Static("", id="pre-lines")
            yield from self._buttons(
                Button("Run again (p)", id="btn-preflight", compact=True),
                Button("Next: choices (2)", id="btn-go-choices", compact=True),
            )

    def _compose_choices(self) -> ComposeResult:
        sandbox = self.is_sandbox
        ro = self.readonly
        with Horizontal(id="step-choices", classes="wiz-step"):
            with VerticalScroll(id="choices-form"):
                yield Static("2  Choices", classes="wiz-title")
                yield from self._field(
                    "istio_version",
                    _LABELS["istio_version"],
                    Input(DEFAULT_ISTIO_VERSION, id="f-istio_version", compact=True),
                )
                yield from self._field(
                    "profile",
                    _LABELS["profile"],
                    Select(
                        [(p, p) for p in PROFILES],
                        value="demo" if sandbox else "default",
                        allow_blank=False,
                        id="f-profile",
                        compact=True,
                    ),
                )
                yield from self._field(
                    "ingress_type",
                    _LABELS["ingress_type"],
                    Select(
                        [(t, t) for t in INGRESS_TYPES],
                        value="NodePort" if sandbox else "LoadBalancer",
                        allow_blank=False,
                        id="f-ingress_type",
                        compact=True,
                    ),
                )
                for name in ("node_port_http2", "node_port_https"):
                    yield from self._field(
                        name,
                        _LABELS[name],
                        Input(placeholder="auto (30000-32767)", id=f"f-{name}", compact=True),
                    )
                yield from self._field(
                    "egress_gateway",
                    _LABELS["egress_gateway"],
                    Checkbox("istio-egressgateway", id="f-egress_gateway", compact=True),
                )
                yield from self._field(
                    "tracing",
                    _LABELS["tracing"],
                    Checkbox("meshConfig.enableTracing", True, id="f-tracing", compact=True),
                )
                yield from self._field(
                    "sampling",
                    _LABELS["sampling"],
                    Input("1", placeholder="0-100", id="f-sampling", compact=True),
                )
                yield from self._field(
                    "addons",
                    _LABELS["addons"],
                    Input(",".join(ADDONS), placeholder=",".join(ADDONS), id="f-addons", compact=True),
                )
                yield from self._field(
                    "chart_source",
                    _LABELS["chart_source"],
                    Input(
                        "sandbox" if sandbox else "",
                        placeholder="official Istio repository",
                        id="f-chart_source",
                        compact=True,
                    ),
                )
                yield from self._field(
                    "save_dir",
                    _LABELS["save_dir"],
                    Input(DEFAULT_SAVE_DIR, placeholder="directory", id="f-save_dir", compact=True),
                )
                yield Static("", id="save-status", classes="wiz-note")
                yield from self._buttons(
                    Button("Save plan (^s)", id="btn-save", compact=True),
                    Button(
                        "Install… (i)", id="btn-install-choices", compact=True, variant="primary", disabled=ro
                    ),
                )
                yield Static(
                    "Typing goes to the field; esc returns to the step list, where 1-7, p, i and ^s work.",
                    classes="wiz-hint",
                )
            with VerticalScroll(id="choices-preview"):
                yield Static("", id="preview-status", markup=False)
                yield Static("", id="preview-body")

    def _compose_install(self) -> ComposeResult:
        with Vertical(id="step-install", classes="wiz-step"):
            yield Static("3  Install", classes="wiz-title")
            yield Static("", id="inst-summary", markup=False)
            yield Static("", id="inst-status", classes="wiz-status")
            yield ProgressBar(id="inst-progress", show_eta=False, total=1)
            releases: DataTable[Text | str] = DataTable(
                id="inst-releases", cursor_type="none", show_cursor=False
            )
            releases.add_columns("#", "RELEASE", "CHART", "STATE", "TIME", "DETAIL")
            yield releases
            yield Static(f"Pods in {ISTIO_NAMESPACE}", classes="wiz-subtitle")
            pods: DataTable[Text | str] = DataTable(id="inst-pods", cursor_type="none", show_cursor=False)
            pods.add_columns("POD", "PHASE", "READY", "STALLED BECAUSE")
            yield pods
            yield Static("", id="inst-notes", markup=False)
            yield Static("", id="inst-log", markup=False)
            yield from self._buttons(
                Button(
                    "Install… (i)", id="btn-install", compact=True, variant="primary", disabled=self.readonly
                ),
                Button("Cancel after this step (x)", id="btn-cancel", compact=True, disabled=True),
                Button("Next: verify (4)", id="btn-go-verify", compact=True),
            )

    def _compose_verify(self) -> ComposeResult:
        with VerticalScroll(id="step-verify", classes="wiz-step"):
            yield Static("4  Verify", classes="wiz-title")
            yield Static("", id="verify-status", classes="wiz-status")
            yield Static("", id="verify-lines")
            yield Static("", id="verify-address")
            yield from self._buttons(
                Button("Verify again (v)", id="btn-verify", compact=True),
                Button("Next: addon access (5)", id="btn-go-addons", compact=True),
            )

    def _compose_addons(self) -> ComposeResult:
        with VerticalScroll(id="step-addons", classes="wiz-step"):
            yield Static("5  Addon access: Ingresses and /etc/hosts", classes="wiz-title")
            yield from self._field(
                "ingress_class",
                "ingressClassName",
                Input(addon_access.DEFAULT_INGRESS_CLASS, id="f-ingress_class", compact=True),
            )
            yield Static("", id="addons-status", classes="wiz-status")
            yield Static("", id="addons-plan", markup=False)
            yield Static("", id="addons-hosts")
            yield from self._buttons(
                Button(
                    "Create Ingresses… (g)",
                    id="btn-ingresses",
                    compact=True,
                    variant="primary",
                    disabled=self.readonly,
                ),
            )

    def _compose_mesh(self) -> ComposeResult:
        defaults = {
            "name": "vm-web",
            "namespace": "default",
            "address": "",
            "ports": "http:8080",
            "labels": "app=vm-web",
            "service_account": "default",
        }
        placeholders = {
            "address": "IP or DNS name, e.g. 10.0.0.20",
            "ports": "http:8080,grpc:9090",
            "labels": "app=vm-web,version=v1",
        }
        with Horizontal(id="step-mesh", classes="wiz-step"):
            with VerticalScroll(id="mesh-form"):
                yield Static("6  Mesh expansion: register a VM", classes="wiz-title")
                for name, value in defaults.items():
                    yield from self._field(
                        name,
                        _VM_LABELS[name],
                        Input(value, placeholder=placeholders.get(name, ""), id=f"vm-{name}", compact=True),
                        prefix="vm",
                    )
                yield from self._field(
                    "expose",
                    _VM_LABELS["expose"],
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
                yield from self._buttons(
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

    def _compose_uninstall(self) -> ComposeResult:
        with VerticalScroll(id="step-uninstall", classes="wiz-step"):
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
            yield from self._buttons(
                Button(
                    "Uninstall… (u)",
                    id="btn-uninstall",
                    compact=True,
                    variant="error",
                    disabled=self.readonly,
                ),
                Button("Audit again", id="btn-audit", compact=True),
            )

    def on_mount(self) -> None:
        self.set_interval(APPLY_INTERVAL_S, self._apply)
        self._revalidate()
        self._revalidate_vm()
        self._show_install_idle()
        self._set_status("pre-status", Text("preflight runs when you open this tab", style="dim"))

    def _kubeconfig_for_helm(self) -> str | None:
        """helm's ``--kubeconfig`` takes one file; a merged ``$KUBECONFIG`` list reaches it via the env."""
        path = self.istio_app.cluster.kubeconfig
        return path if path and os.pathsep not in path else None

    def on_show(self) -> None:
        self._start()

    def on_unmount(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.cancel()
        if self._install_stop is not None:
            self._install_stop.set()

    def focus_content(self) -> None:
        self._start()
        self.query_one("#wiz-steps", OptionList).focus()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.action_run_preflight()

    # ------------------------------------------------------------------ steps

    def action_show_step(self, key: str) -> None:
        steps = self.query_one("#wiz-steps", OptionList)
        index = steps.get_option_index(key)
        if steps.highlighted != index:
            steps.highlighted = index
        else:
            self._switch_to(key)

    def action_focus_steps(self) -> None:
        self.query_one("#wiz-steps", OptionList).focus()

    @on(OptionList.OptionHighlighted, "#wiz-steps")
    def _step_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._switch_to(event.option.id)

    @on(OptionList.OptionSelected, "#wiz-steps")
    def _step_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a step moves into its first field or button."""
        address = self.query_one("#vm-address", Input)
        if event.option.id == "mesh" and not address.value.strip():
            address.focus()
            return
        body = self.query_one(f"#step-{event.option.id}")
        for widget in body.query("Input, Select, Checkbox, Button"):
            if widget.focusable:
                widget.focus()
                break

    def _switch_to(self, key: str) -> None:
        self.query_one("#wiz-body", ContentSwitcher).current = f"step-{key}"
        if key == "verify" and self._verify is None and "verify" not in self._busy:
            self.action_verify()
        elif key == "addons":
            self._refresh_addons_plan()
        elif key == "uninstall" and "uninstall" not in self._busy:
            self._scan_installed()

    def _mark(self, key: str, mark: str) -> None:
        if self._marks.get(key) == mark:
            return
        self._marks[key] = mark
        index = next(i for i, (k, _t) in enumerate(STEPS) if k == key)
        self.query_one("#wiz-steps", OptionList).replace_option_prompt(
            key, step_prompt(index + 1, STEPS[index][1], mark)
        )

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], object]] = {
            "btn-preflight": self.action_run_preflight,
            "btn-go-choices": lambda: self.action_show_step("choices"),
            "btn-save": self.action_save_plan,
            "btn-install-choices": self.action_install,
            "btn-install": self.action_install,
            "btn-cancel": self.action_cancel_install,
            "btn-go-verify": lambda: self.action_show_step("verify"),
            "btn-verify": self.action_verify,
            "btn-go-addons": lambda: self.action_show_step("addons"),
            "btn-ingresses": self.action_create_ingresses,
            "btn-register": self.action_register_vm,
            "btn-uninstall": self.action_uninstall,
            "btn-audit": self._scan_installed,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    # ------------------------------------------------------------------ inbox (worker -> UI)

    def _post(self, key: str, value: Any) -> None:
        """From any thread: the newest value for ``key`` wins; the timer shows it."""
        with self._lock:
            self._inbox.pop(key, None)
            self._inbox[key] = value

    def _emit(self, key: str, value: Any) -> None:
        """From any thread: a one-off outcome; every one is shown, in order, after the snapshots."""
        with self._lock:
            self._outcomes.append((key, value))

    def _event_sink(self, target: str) -> Callable[[StepEvent], None]:
        def sink(event: StepEvent) -> None:
            with self._lock:
                self._events.append((target, event))

        return sink

    def _begin(self, task: str, label: str) -> None:
        self._busy[task] = (label, time.monotonic())

    def _apply(self) -> None:
        with self._lock:
            inbox, self._inbox = self._inbox, {}
            events, self._events = self._events, []
            outcomes, self._outcomes = self._outcomes, []
        if events:
            for target, event in events:
                self._apply_event(target, event)
            self._show_releases("install")
            self._show_releases("uninstall")
            self.query_one("#inst-log", Static).update(Text("\n".join(self._log), style="dim"))
        for key, value in [*inbox.items(), *outcomes]:
            getattr(self, f"_got_{key}")(value)
        self._tick += 1
        for task, (label, started) in self._busy.items():
            spin = SPINNER[self._tick % len(SPINNER)]
            self._set_status(
                f"{_STATUS_OF[task]}",
                Text(f"{spin} {label}… {time.monotonic() - started:.0f}s", style="yellow"),
            )

    def _set_status(self, widget_id: str, text: Text) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    def _done(self, task: str, text: Text) -> None:
        self._busy.pop(task, None)
        self._set_status(_STATUS_OF[task], text)

    # ------------------------------------------------------------------ 1 preflight

    def action_run_preflight(self) -> None:
        if "preflight" in self._busy:
            return
        plan = self._plan
        version = plan.istio_version if plan else DEFAULT_ISTIO_VERSION
        ingress = plan.ingress_type if plan and (self._ingress_touched or self.is_sandbox) else None
        self._begin("preflight", "running preflight checks")
        self._mark("preflight", "…")
        self._preflight_worker(version, ingress)

    @work(thread=True, exit_on_error=False, group="install-preflight", description="preflight checks")
    def _preflight_worker(self, version: str, ingress_type: str | None) -> None:
        try:
            lines = run_preflight(self.istio_app.cluster, istio_version=version, ingress_type=ingress_type)
        except BaseException:
            self._emit("preflight", None)
            raise
        self._emit("preflight", lines)

    def _got_preflight(self, lines: list[CheckLine] | None) -> None:
        if lines is None:
            self._done("preflight", Text("preflight did not finish (see the notification)", style="red"))
            self._mark("preflight", "✘")
            return
        self._preflight = lines
        self.query_one("#pre-lines", Static).update(checklist(lines))
        fails = [line for line in lines if line.status == "fail"]
        warns = [line for line in lines if line.status == "warn"]
        helm = next((line for line in lines if line.key == "helm"), None)
        self._helm_problem = (
            f"{helm.reason}: {helm.fix}" if helm is not None and helm.status == "fail" else ""
        )
        if fails:
            summary = Text(
                f"✘ {len(fails)} check(s) failed: installing is blocked until they pass", style="bold red"
            )
            if self._helm_problem:
                summary.append("\n  The plan can still be previewed and saved on step 2 (ctrl+s).", style="")
        elif warns:
            summary = Text(
                f"! passed with {len(warns)} warning(s); next: step 2, Choices", style="bold yellow"
            )
        else:
            summary = Text("✔ all checks passed; next: step 2, Choices", style="bold green")
        self._done("preflight", summary)
        self._mark("preflight", "✘" if fails else ("!" if warns else "✔"))
        lb = next((line for line in lines if line.key == "load-balancer"), None)
        if lb is not None and lb.status == "warn" and not self._ingress_touched:
            select = self.query_one("#f-ingress_type", Select)
            if select.value == "LoadBalancer":
                select.value = "NodePort"
                self.notify("No LoadBalancer provider answers here: ingress type set to NodePort.", timeout=6)
        self._show_install_idle()

    # ------------------------------------------------------------------ 2 choices

    def _form(self) -> dict[str, Any]:
        def text(name: str) -> str:
            return self.query_one(f"#f-{name}", Input).value

        return {
            "istio_version": text("istio_version"),
            "profile": self.query_one("#f-profile", Select).value,
            "ingress_type": self.query_one("#f-ingress_type", Select).value,
            "node_port_http2": text("node_port_http2"),
            "node_port_https": text("node_port_https"),
            "egress_gateway": self.query_one("#f-egress_gateway", Checkbox).value,
            "tracing": self.query_one("#f-tracing", Checkbox).value,
            "sampling": text("sampling"),
            "addons": text("addons"),
            "chart_source": text("chart_source"),
        }

    def _show_error(self, widget_id: str, message: str) -> None:
        err = self.query_one(f"#{widget_id}", Static)
        err.update(f"✘ {message}" if message else "")
        err.set_class(not message, "-hidden")

    def _revalidate(self) -> InstallPlan | None:
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
            self._show_error(f"err-{name}", errors.get(name, ""))
        changed = plan != self._shown_plan
        self._plan = plan
        self.query_one("#preview-body", Static).set_class(plan is None, "-stale")
        status = self.query_one("#preview-status", Static)
        if plan is None:
            first = next(iter(errors))
            self._plan_error = f"{_LABELS.get(first, first)}: {errors[first]}"
            status.update(
                Text(
                    f"✘ fix {len(errors)} field(s) first; nothing is applied with a bad value\n"
                    f"  {self._plan_error}",
                    style="bold red",
                )
            )
            self._mark("choices", "✘")
        else:
            self._plan_error = ""
            status.update(Text(f"✔ {plan.summary()}", style="green"))
            if changed:
                self._shown_plan = plan
                self.query_one("#preview-body", Static).update(plan_preview(plan))
            self._mark("choices", "✔")
        return plan

    @on(Input.Changed, "#choices-form Input")
    @on(Select.Changed, "#choices-form Select")
    @on(Checkbox.Changed, "#choices-form Checkbox")
    def _choice_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        if event.control.id == "f-save_dir":
            self._show_error("err-save_dir", "")
            return
        if event.control.id == "f-ingress_type" and self.query_one("#f-ingress_type", Select).has_focus:
            self._ingress_touched = True
        self._revalidate()
        if event.control.id not in ("f-istio_version",):
            self._show_install_idle()

    def _checked_plan(self) -> InstallPlan | None:
        plan = self._revalidate()
        if plan is None:
            self.notify(f"the plan is not valid: {self._plan_error}", severity="error", markup=False)
            self.action_show_step("choices")
        return plan

    def action_save_plan(self) -> None:
        plan = self._checked_plan()
        if plan is None:
            return
        target = self.query_one("#f-save_dir", Input).value.strip()
        if not target:
            self._show_error("err-save_dir", "name a directory to save the plan to")
            return
        self._save_worker(plan, target)

    @work(thread=True, exit_on_error=False, group="install-save", description="save plan")
    def _save_worker(self, plan: InstallPlan, target: str) -> None:
        try:
            written = plan.write(target)
        except IstioTuiError as err:
            self._emit("saved", ("", str(err)))
            return
        self._emit("saved", (str(Path(target).expanduser().resolve()), f"{len(written)} files"))

    def _got_saved(self, result: tuple[str, str]) -> None:
        where, what = result
        if not where:
            self._show_error("err-save_dir", what)
            self.notify(what, severity="error", markup=False)
            return
        self._show_error("err-save_dir", "")
        self.query_one("#save-status", Static).update(
            Text(f"✔ saved {what} to {where} (run install.sh there)", style="green")
        )
        self.notify(f"saved {what} to {where}", markup=False)

    # ------------------------------------------------------------------ 3 install

    def _show_install_idle(self) -> None:
        """Before a run: which releases the plan will install, and what blocks installing."""
        if "install" in self._busy:
            return
        plan = self._plan
        summary = self.query_one("#inst-summary", Static)
        if plan is None:
            summary.update(
                Text(f"The plan is not valid ({self._plan_error}); fix it on step 2.", style="red")
            )
            return
        summary.update(Text.assemble(("Plan: ", "bold"), plan.summary()))
        if not self._releases or all(r.state == "waiting" for r in self._releases):
            self._releases = [ReleaseState(r.name, r.chart) for r in plan.releases]
            self._show_releases("install")
        if self._helm_problem:
            self._set_status(
                "inst-status",
                Text(
                    f"✘ {self._helm_problem}\n  You can still save the plan on step 2 (ctrl+s) and run "
                    "install.sh where helm is installed.",
                    style="bold red",
                ),
            )
        elif self.readonly:
            self._set_status(
                "inst-status", Text(f"installing is disabled in {READ_ONLY_REASON}", style="yellow")
            )

    def _show_releases(self, which: str) -> None:
        states = self._releases if which == "install" else self._un_releases
        table = self.query_one("#inst-releases" if which == "install" else "#un-releases", DataTable)
        table.clear()
        table.add_rows(release_rows(states, chart=which == "install"))

    def action_install(self) -> None:
        if self.refuse_if_readonly("Installing Istio"):
            return
        if "install" in self._busy or "uninstall" in self._busy:
            self.notify("a helm run is already in progress", severity="warning")
            return
        plan = self._checked_plan()
        if plan is None:
            return
        if self._helm_problem:
            self.action_show_step("install")
            self.notify(
                self._helm_problem, title="helm is missing", severity="error", timeout=10, markup=False
            )
            return
        body = [plan.summary(), "", "helm upgrade --install, in this order (re-running is safe):"]
        body += [
            f"  {i}. {r.name}  (chart {r.chart}, namespace {r.namespace})"
            for i, r in enumerate(plan.releases, start=1)
        ]
        screen = ConfirmScreen(
            "Install Istio?",
            body,
            context=self.istio_app.context_name,
            confirm_label="Install",
            destructive=False,
        )
        self.app.push_screen(screen, lambda ok: self._start_install(plan) if ok else None)

    def _start_install(self, plan: InstallPlan) -> None:
        self.action_show_step("install")
        self._releases = [ReleaseState(r.name, r.chart) for r in plan.releases]
        self._show_releases("install")
        self._log.clear()
        self._verify = None
        bar = self.query_one("#inst-progress", ProgressBar)
        bar.update(total=len(plan.releases), progress=0)
        self.query_one("#btn-cancel", Button).disabled = False
        self._begin("install", "preflight, then helm")
        self._mark("install", "…")
        self._mark("verify", "")
        stop = threading.Event()
        self._install_stop = stop
        self._install_worker(plan, stop)
        self._progress_worker(stop)

    @work(thread=True, exit_on_error=False, group="install-run", description="helm install")
    def _install_worker(self, plan: InstallPlan, stop: threading.Event) -> None:
        cluster = self.istio_app.cluster
        try:
            lines = run_preflight(cluster, istio_version=plan.istio_version, ingress_type=plan.ingress_type)
            self._emit("preflight", lines)
            failed = [line for line in lines if line.status == "fail"]
            if failed:
                self._post(
                    "installed", ("blocked", f"preflight failed: {failed[0].title}: {failed[0].reason}")
                )
                return
            runner = HelmRunner(
                plan,
                kubeconfig=self._kubeconfig_for_helm(),
                context=cluster.context,
                on_event=self._event_sink("install"),
            )
            self._runner = runner
            runner.install()
        except Cancelled as err:
            self._emit("installed", ("cancelled", str(err)))
            return
        except IstioTuiError as err:
            self._emit("installed", ("failed", str(err)))
            return
        except BaseException:
            self._emit("installed", ("failed", "the install stopped unexpectedly (see the notification)"))
            raise
        finally:
            self._runner = None
        self._emit("installed", ("verifying", ""))
        report = wait_for_verify(
            cluster,
            plan=plan,
            timeout_s=VERIFY_TIMEOUT_S,
            stop=self._stop,
            on_report=lambda r: self._post("verify", r),
        )
        stop.set()
        self._emit("installed", ("done" if report.ok else "verify-red", ""))

    @work(thread=True, exit_on_error=False, group="install-progress", description="istio-system pod progress")
    def _progress_worker(self, stop: threading.Event) -> None:
        cluster = self.istio_app.cluster
        while True:
            self._post("progress", install_progress(cluster))
            if stop.wait(PROGRESS_POLL_S) or self._stop.is_set():
                self._post("progress", install_progress(cluster))
                return

    def _apply_event(self, target: str, event: StepEvent) -> None:
        states = self._releases if target == "install" else self._un_releases
        if event.kind == "output":
            if event.line.strip():
                self._log.append(f"{event.release}: {event.line.strip()}")
            return
        if event.index >= len(states):
            return
        state = states[event.index]
        if event.kind == "start":
            state.state, state.detail = "running", ""
            task = "install" if target == "install" else "uninstall"
            verb = "helm upgrade --install" if target == "install" else "helm uninstall"
            if task in self._busy:
                label = f"step {event.index + 1}/{event.total}: {verb} {event.release}"
                self._busy[task] = (label, self._busy[task][1])
        elif event.kind == "done":
            state.state = "deployed" if target == "install" else "uninstalled"
            state.elapsed_s = event.elapsed_s
            if target == "install":
                self.query_one("#inst-progress", ProgressBar).update(progress=event.index + 1)
        elif event.kind == "failed":
            state.state, state.detail, state.elapsed_s = "failed", event.line, event.elapsed_s
        elif event.kind == "cancelled":
            for rest in states[event.index :]:
                rest.state = "cancelled"

    def _got_progress(self, progress: InstallProgress) -> None:
        table = self.query_one("#inst-pods", DataTable)
        table.clear()
        table.add_rows(pod_rows(progress.pods))
        notes = list(progress.notes)
        self.query_one("#inst-notes", Static).update(Text("\n".join(f"! {n}" for n in notes), style="yellow"))

    def _got_installed(self, result: tuple[str, str]) -> None:
        outcome, reason = result
        if outcome == "verifying":
            self._busy["install"] = (
                "helm done; waiting for the verify checklist",
                self._busy.get("install", ("", time.monotonic()))[1],
            )
            self._mark("install", "✔")
            if self.query_one("#wiz-body", ContentSwitcher).current == "step-install":
                self.action_show_step("verify")
            self._begin("verify", "waiting for istiod, webhooks, CRDs and the gateway")
            return
        self.query_one("#btn-cancel", Button).disabled = True
        if outcome in ("done", "verify-red"):
            self._got_verify_done(None)
        if outcome == "done":
            self._done(
                "install", Text("✔ installed; the verify checklist is green (step 4)", style="bold green")
            )
            return
        if outcome == "verify-red":
            self._done(
                "install", Text("! installed, but verify is not green yet: see step 4", style="bold yellow")
            )
            return
        self._busy.pop("verify", None)
        style = "bold yellow" if outcome == "cancelled" else "bold red"
        mark = "!" if outcome == "cancelled" else "✘"
        self._done("install", Text(f"{mark} {reason}", style=style))
        self._mark("install", mark)
        if outcome != "cancelled":
            self.notify(reason, title="Install failed", severity="error", timeout=10, markup=False)

    def action_cancel_install(self) -> None:
        runner = self._runner
        if "install" not in self._busy:
            self.notify("no install is running", severity="warning")
            return
        if runner is not None:
            runner.cancel()
        self.query_one("#btn-cancel", Button).disabled = True
        self._busy["install"] = ("cancelling after the current helm step", self._busy["install"][1])

    # ------------------------------------------------------------------ 4 verify

    def action_verify(self) -> None:
        if "verify" in self._busy:
            return
        self._begin("verify", "checking istiod, webhooks, CRDs and the gateway")
        self._verify = None
        self._verify_worker(self._plan)

    @work(thread=True, exit_on_error=False, group="install-verify", description="verify")
    def _verify_worker(self, plan: InstallPlan | None) -> None:
        try:
            self._post("verify", run_verify(self.istio_app.cluster, plan=plan))
        finally:
            self._emit("verify_done", None)

    def _got_verify(self, report: VerifyReport) -> None:
        self._verify = report
        self.query_one("#verify-lines", Static).update(checklist(report.lines))
        self.query_one("#verify-address", Static).update(gateway_banner(report.ingress))
        if report.ok:
            self._busy.pop("verify", None)
            self._set_status(
                "verify-status",
                Text(f"✔ Istio {report.version} is installed and healthy", style="bold green"),
            )
        self._mark("verify", "✔" if report.ok else "✘")

    def _got_verify_done(self, _value: None) -> None:
        report = self._verify
        if report is None:
            self._done("verify", Text("verify did not finish (see the notification)", style="red"))
        elif report.ok:
            self._done(
                "verify", Text(f"✔ Istio {report.version} is installed and healthy", style="bold green")
            )
        else:
            bad = next(line for line in report.lines if line.status != "pass")
            self._done("verify", Text(f"✘ not green: {bad.title}: {bad.reason}", style="bold red"))

    # ------------------------------------------------------------------ 5 addon access

    def _addons_in_plan(self) -> tuple[str, ...]:
        return self._plan.addons if self._plan is not None else ()

    def _refresh_addons_plan(self) -> None:
        addons = self._addons_in_plan()
        info = self.query_one("#addons-plan", Static)
        if self._plan is None:
            info.update(Text(f"The plan is not valid ({self._plan_error}); fix it on step 2.", style="red"))
            return
        if not addons:
            info.update(
                Text(
                    "The plan has no addons: add some on step 2 (prometheus, grafana, jaeger, kiali).",
                    style="yellow",
                )
            )
            return
        info.update(Text.assemble(("Ingresses for: ", "bold"), ", ".join(addons)))
        if "addons" not in self._busy:
            self._begin("addons", "finding the node address")
            self._hosts_worker(addons, "")

    @on(Input.Changed, "#f-ingress_class")
    def _ingress_class_changed(self, event: Input.Changed) -> None:
        try:
            addon_access.validate_ingress_class(event.value)
        except FieldError as err:
            self._show_error("err-ingress_class", str(err))
        else:
            self._show_error("err-ingress_class", "")

    def action_create_ingresses(self) -> None:
        if self.refuse_if_readonly("Creating addon Ingresses"):
            return
        addons = self._addons_in_plan()
        if not addons:
            self._refresh_addons_plan()
            self.action_show_step("addons")
            self.notify("the plan has no addons to expose", severity="warning")
            return
        raw = self.query_one("#f-ingress_class", Input).value
        try:
            docs = addon_access.addon_ingresses(addons, ingress_class=raw)
        except FieldError as err:
            self._show_error("err-ingress_class", str(err))
            self.action_show_step("addons")
            return
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
                self._begin("addons", "creating Ingresses")
                self._hosts_worker(addons, ingress_class)

        self.app.push_screen(screen, go)

    @work(thread=True, exit_on_error=False, group="install-addons", description="addon Ingresses")
    def _hosts_worker(self, addons: tuple[str, ...], ingress_class: str) -> None:
        cluster = self.istio_app.cluster
        created: list[str] = []
        try:
            if ingress_class:
                stored = addon_access.apply_addon_ingresses(cluster, addons, ingress_class=ingress_class)
                created = [f"{o['metadata']['name']} -> {o['spec']['rules'][0]['host']}" for o in stored]
            ip = addon_access.node_ip(cluster)
            lines = addon_access.hosts_lines(ip, addons, port=addon_access.gateway_port(cluster))
            self._emit("hosts", (created, lines, bool(ingress_class)))
        except BaseException:
            self._emit("hosts", None)
            raise

    def _got_hosts(self, result: tuple[list[str], list[str], bool] | None) -> None:
        if result is None:
            self._done("addons", Text("failed (see the notification)", style="red"))
            return
        created, hosts, applied = result
        out = Text()
        if created:
            out.append("Ingresses created or updated:\n", style="bold green")
            out.append("".join(f"  ✔ {line}\n" for line in created))
        out.append("Add these lines to /etc/hosts:\n", style="bold")
        out.append("\n".join(hosts), style="green")
        self.query_one("#addons-hosts", Static).update(out)
        if applied:
            self._done(
                "addons", Text(f"✔ {len(created)} Ingress(es) in {ISTIO_NAMESPACE}", style="bold green")
            )
            self._mark("addons", "✔")
        else:
            self._done("addons", Text("press g (or the button) to create the Ingresses", style="dim"))

    # ------------------------------------------------------------------ 6 mesh expansion

    def _vm_form(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: self.query_one(f"#vm-{name}", Input).value for name in VM_FIELDS if name != "expose"
        }
        values["expose"] = self.query_one("#vm-expose", Select).value
        return values

    def _revalidate_vm(self, *, show_all: bool = False) -> VmRegistration | None:
        values = self._vm_form()
        errors: dict[str, str] = {}
        for name, raw in values.items():
            try:
                validate_vm_field(name, raw)
            except FieldError as err:
                errors[name] = str(err)
        for name in VM_FIELDS:
            shown = errors.get(name, "") if (show_all or name in self._vm_touched) else ""
            self._show_error(f"vmerr-{name}", shown)
        self._vm = None if errors else build_registration(**values)
        body = self.query_one("#mesh-preview-body", Static)
        if self._vm is not None:
            body.update(manifests_preview(self._vm.manifests()))
        else:
            missing = ", ".join(_VM_LABELS[n] for n in errors)
            body.update(
                Text(
                    f"The preview appears when every field is valid (still to fill or fix: {missing}).",
                    style="dim",
                )
            )
        return self._vm

    @on(Input.Changed, "#mesh-form Input")
    @on(Select.Changed, "#mesh-form Select")
    def _vm_changed(self, event: Input.Changed | Select.Changed) -> None:
        if event.control.id:
            self._vm_touched.add(event.control.id.removeprefix("vm-"))
        self._revalidate_vm()

    def action_register_vm(self) -> None:
        if self.refuse_if_readonly("Registering a VM"):
            return
        registration = self._revalidate_vm(show_all=True)
        if registration is None:
            self.action_show_step("mesh")
            self.notify("fix the marked mesh-expansion fields first", severity="error")
            return
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
                self._begin("mesh", "creating the WorkloadEntry")
                self._register_worker(registration)

        self.app.push_screen(screen, go)

    @work(thread=True, exit_on_error=False, group="install-mesh", description="register VM")
    def _register_worker(self, registration: VmRegistration) -> None:
        try:
            stored = register_vm(self.istio_app.cluster, registration)
        except FieldError as err:
            self._emit("registered", (err.field, str(err)))
            return
        except BaseException:
            self._emit("registered", ("", ""))
            raise
        names = [f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}" for o in stored]
        self._emit("registered", ("ok", ", ".join(names)))

    def _got_registered(self, result: tuple[str, str]) -> None:
        field, message = result
        if field == "ok":
            self._done("mesh", Text(f"✔ created {message}", style="bold green"))
            self._mark("mesh", "✔")
        elif field:
            self._show_error(f"vmerr-{field}", message)
            self._done("mesh", Text(f"✘ {message}", style="bold red"))
        else:
            self._done("mesh", Text("failed (see the notification)", style="red"))

    # ------------------------------------------------------------------ 7 uninstall

    def _scan_installed(self) -> None:
        if "uninstall" in self._busy:
            return
        self._begin("uninstall", "looking for releases and leftovers")
        self._scan_worker()

    @work(thread=True, exit_on_error=False, group="install-scan", description="uninstall scan")
    def _scan_worker(self) -> None:
        cluster = self.istio_app.cluster
        try:
            found = installed_releases(cluster)
            audit = leftover_audit(cluster)
        except BaseException:
            self._emit("scanned", None)
            raise
        self._emit("scanned", (found, audit))

    def _got_scanned(self, result: tuple[list[str], list[Any]] | None) -> None:
        if result is None:
            self._done("uninstall", Text("scan failed (see the notification)", style="red"))
            return
        found, audit = result
        self._found_releases = found
        text = (
            ("Releases to remove, in this order: " + ", ".join(found))
            if found
            else f"No Istio or addon helm releases in {ISTIO_NAMESPACE}."
        )
        self.query_one("#un-found", Static).update(text)
        self.query_one("#un-audit", Static).update(leftovers(audit, before=bool(found)))
        self._done(
            "uninstall",
            Text(f"{len(found)} release(s) installed, {len(audit)} leftover item(s)", style="dim"),
        )

    def action_uninstall(self) -> None:
        if self.refuse_if_readonly("Uninstalling Istio"):
            return
        if "install" in self._busy or "uninstall" in self._busy:
            self.notify("a helm run is already in progress", severity="warning")
            return
        self.action_show_step("uninstall")
        delete_ns = self.query_one("#un-namespace", Checkbox).value
        delete_crds = self.query_one("#un-crds", Checkbox).value
        found = list(self._found_releases)
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
                self._un_releases = [ReleaseState(name, "") for name in found]
                self.query_one("#un-releases", DataTable).remove_class("-hidden")
                self._show_releases("uninstall")
                self._begin("uninstall", "helm uninstall, then the leftover audit")
                self._mark("uninstall", "…")
                self._uninstall_worker(delete_crds, delete_ns)

        self.app.push_screen(screen, go)

    @work(thread=True, exit_on_error=False, group="install-uninstall", description="uninstall")
    def _uninstall_worker(self, delete_crds: bool, delete_namespace: bool) -> None:
        cluster = self.istio_app.cluster
        try:
            report = run_uninstall(
                cluster,
                kubeconfig=self._kubeconfig_for_helm(),
                context=cluster.context,
                delete_crds=delete_crds,
                delete_namespace=delete_namespace,
                on_event=self._event_sink("uninstall"),
            )
        except IstioTuiError as err:
            self._emit("uninstalled", str(err))
            return
        except BaseException:
            self._emit("uninstalled", "the uninstall stopped unexpectedly (see the notification)")
            raise
        self._emit("uninstalled", report)

    def _got_uninstalled(self, result: UninstallReport | str) -> None:
        if isinstance(result, str):
            self._done("uninstall", Text(f"✘ {result}", style="bold red"))
            self._mark("uninstall", "✘")
            self.notify(result, title="Uninstall failed", severity="error", timeout=10, markup=False)
            return
        self._found_releases = []
        self._uninstall_report = result
        self.query_one("#un-found", Static).update(f"No Istio or addon helm releases in {ISTIO_NAMESPACE}.")
        self.query_one("#un-audit", Static).update(leftovers(result.leftovers))
        parts = [f"removed {len(result.releases)} release(s)"]
        if result.deleted_crds:
            parts.append(f"{len(result.deleted_crds)} CRDs")
        if result.namespace_deleted:
            parts.append(f"namespace {ISTIO_NAMESPACE}")
        style = "bold green" if result.clean else "bold yellow"
        self._done("uninstall", Text(("✔ " if result.clean else "! ") + ", ".join(parts), style=style))
        self._mark("uninstall", "✔" if result.clean else "!")
        self._verify = None
        for key in ("install", "verify", "addons", "mesh"):
            self._mark(key, "")
        self._releases = []
        self._show_install_idle()


_STATUS_OF = {
    "preflight": "pre-status",
    "install": "inst-status",
    "verify": "verify-status",
    "addons": "addons-status",
    "mesh": "mesh-status",
    "uninstall": "un-status",
}
