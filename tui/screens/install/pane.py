"""The install wizard's shell: the step list on the left, the chosen step on the right, and the keys.

Each step (one module each) owns its widgets, workers and state and reports through typed messages; this
shell routes what one step learns to the others (preflight lines to step 1, the plan to steps 3 and 5,
verify reports to step 4) and asks for confirmation naming the context before anything changes the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, ContentSwitcher, Input, OptionList
from textual.widgets.option_list import Option

from tui.istio.plan import DEFAULT_ISTIO_VERSION, InstallPlan
from tui.istio.uninstall import UninstallReport
from tui.istio.verify import VerifyReport
from tui.models import CheckLine
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.addons import AddonsStep
from tui.screens.install.choices import ChoicesStep
from tui.screens.install.mesh import MeshStep
from tui.screens.install.preflight import PreflightStep
from tui.screens.install.run import RunStep
from tui.screens.install.step import WizardStep
from tui.screens.install.uninstall import UninstallStep
from tui.screens.install.upgrade import UpgradeStep
from tui.screens.install.verify import VerifyStep
from tui.screens.install.views import STEPS, ReleaseState, step_prompt
from tui.widgets.pane import PaneAction, WorkPane

if TYPE_CHECKING:
    from tui.app import IstioApp

# Step list 22 + form 50 + a readable preview: narrower panes stack the preview under the form.
NARROW_COLUMNS = 110


class InstallPane(WorkPane):
    """Eight steps in a list on the left; the chosen step's view on the right."""

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
            "install_gateway_api",
            "Install Gateway API CRDs",
            "the pinned standard channel, when preflight finds the CRDs missing",
            key="G",
            destructive=True,
            show=False,
        ),
        PaneAction(
            "save_plan",
            "Save plan",
            "write the values files, install.sh and uninstall.sh to 'Save to'",
            key="ctrl+s",
            key_display="^s",
            short="Save",
        ),
        PaneAction(
            "install",
            "Install Istio",
            "helm upgrade --install every release of the plan, in order",
            key="i",
            destructive=True,
            short="Install",
        ),
        # x and v are on their steps' buttons; the footer keeps room for q Quit at 80 columns.
        PaneAction(
            "cancel_install", "Cancel install", "stop after the current helm step", key="x", show=False
        ),
        PaneAction(
            "verify",
            "Verify",
            "check istiod, webhooks, CRDs, the gateway address and the version",
            key="v",
            show=False,
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
        ("1-8", "go to a wizard step (outside text fields)"),
        ("tab", "next field; the buttons do what the keys do"),
        ("esc", "leave a field for the step list, where the keys work"),
    )

    def __init__(self) -> None:
        super().__init__(id="install-pane")
        self._started = False

    @property
    def istio_app(self) -> IstioApp:
        return self.app  # type: ignore[return-value]

    @property
    def is_sandbox(self) -> bool:
        """Decided by how the app was launched (``--sandbox``), never by a context's name."""
        return bool(self.istio_app.settings.sandbox)

    # --- what the tests and the palette read

    @property
    def plan(self) -> InstallPlan | None:
        """The plan the form describes now, or None while a field is bad."""
        return self._choices.plan

    @property
    def preflight_lines(self) -> tuple[CheckLine, ...]:
        return self._preflight.lines

    @property
    def verify_report(self) -> VerifyReport | None:
        return self._verify.report

    @property
    def uninstall_report(self) -> UninstallReport | None:
        return self._uninstall.report

    @property
    def release_states(self) -> tuple[ReleaseState, ...]:
        return tuple(self._run.releases)

    @property
    def busy(self) -> frozenset[str]:
        """Steps working now: preflight, install, verify, addons, mesh, uninstall."""
        return frozenset(step.KEY for step in self._steps if step.is_busy)

    @property
    def _steps(self) -> list[WizardStep]:
        # Not ``query(WizardStep)``: a query matches CSS type names, and a step's come from its container.
        return [w for w in self.query_one("#wiz-body", ContentSwitcher).children if isinstance(w, WizardStep)]

    @property
    def _preflight(self) -> PreflightStep:
        return self.query_one(PreflightStep)

    @property
    def _choices(self) -> ChoicesStep:
        return self.query_one(ChoicesStep)

    @property
    def _run(self) -> RunStep:
        return self.query_one(RunStep)

    @property
    def _verify(self) -> VerifyStep:
        return self.query_one(VerifyStep)

    @property
    def _addons(self) -> AddonsStep:
        return self.query_one(AddonsStep)

    @property
    def _uninstall(self) -> UninstallStep:
        return self.query_one(UninstallStep)

    # --- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="wiz"):
            yield OptionList(
                *[Option(step_prompt(i, title, ""), id=key) for i, (key, title) in enumerate(STEPS, start=1)],
                id="wiz-steps",
            )
            with ContentSwitcher(id="wiz-body", initial="step-preflight"):
                yield PreflightStep()
                yield ChoicesStep(sandbox=self.is_sandbox)
                yield RunStep()
                yield VerifyStep()
                yield AddonsStep()
                yield MeshStep()
                yield UninstallStep()
                yield UpgradeStep()

    def on_mount(self) -> None:
        self._plan_changed()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_COLUMNS, "-narrow")

    def on_show(self) -> None:
        self._start()

    def focus_content(self) -> None:
        self._start()
        self.query_one("#wiz-steps", OptionList).focus()

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.action_run_preflight()

    # --- steps

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
        if event.option.id == "mesh" and self.query_one(MeshStep).address_empty():
            self.query_one("#vm-address", Input).focus()
            return
        body = self.query_one(f"#step-{event.option.id}")
        for widget in body.query("Input, Select, Checkbox, Button"):
            if widget.focusable:
                widget.focus()
                break

    def _switch_to(self, key: str) -> None:
        self.query_one("#wiz-body", ContentSwitcher).current = f"step-{key}"
        if key == "verify" and self._verify.report is None and not self._verify.is_busy:
            self.action_verify()
        elif key == "addons":
            self._addons.refresh_plan()
        elif key == "uninstall":
            self._uninstall.scan()
        elif key == "upgrade":
            self.query_one(UpgradeStep).scan()

    @on(WizardStep.Marked)
    def _marked(self, event: WizardStep.Marked) -> None:
        event.stop()
        index = next(i for i, (k, _t) in enumerate(STEPS) if k == event.key)
        self.query_one("#wiz-steps", OptionList).replace_option_prompt(
            event.key, step_prompt(index + 1, STEPS[index][1], event.mark)
        )

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], object]] = {
            "btn-preflight": self.action_run_preflight,
            "btn-gateway-crds": self.action_install_gateway_api,
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
            "btn-audit": self._uninstall.scan,
            "btn-up-plan": self.query_one(UpgradeStep).plan_steps,
            "btn-up-next": lambda: self._upgrade_action(UpgradeStep.run_next),
            "btn-up-rollback": lambda: self._upgrade_action(UpgradeStep.rollback),
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    # --- 1 preflight and 2 choices

    def action_run_preflight(self) -> None:
        plan = self.plan
        ingress = plan.ingress_type if plan and (self._choices.ingress_touched or self.is_sandbox) else None
        self._preflight.run(
            istio_version=plan.istio_version if plan else DEFAULT_ISTIO_VERSION, ingress_type=ingress
        )

    def action_install_gateway_api(self) -> None:
        if self.refuse_if_readonly("Installing the Gateway API CRDs"):
            return
        plan = self.plan
        self._preflight.offer_gateway_api(
            sandbox=self.is_sandbox,
            istio_version=plan.istio_version if plan else DEFAULT_ISTIO_VERSION,
            ingress_type=plan.ingress_type if plan else None,
        )

    @on(PreflightStep.Checked)
    @on(RunStep.Preflighted)
    def _preflighted(self, event: PreflightStep.Checked | RunStep.Preflighted) -> None:
        event.stop()
        self._preflight.show(event.lines)
        if self._preflight.load_balancer_missing and self._choices.prefer_node_port():
            self.notify("No LoadBalancer provider answers here: ingress type set to NodePort.", timeout=6)
        self._plan_changed()

    @on(ChoicesStep.PlanChanged)
    def _plan_changed(self) -> None:
        choices = self._choices
        self._addons.plan, self._addons.plan_error = choices.plan, choices.plan_error
        self._run.show_idle(
            choices.plan, plan_error=choices.plan_error, helm_problem=self._preflight.helm_problem
        )

    def _checked_plan(self) -> InstallPlan | None:
        plan = self._choices.revalidate()
        if plan is None:
            self.notify(f"the plan is not valid: {self._choices.plan_error}", severity="error", markup=False)
            self.action_show_step("choices")
        return plan

    def action_save_plan(self) -> None:
        plan = self._checked_plan()
        if plan is not None:
            self._choices.save(plan)

    # --- 3 install and 4 verify

    def action_install(self) -> None:
        if self.refuse_if_readonly("Installing Istio"):
            return
        if self._run.is_busy or self._uninstall.is_busy:
            self.notify("a helm run is already in progress", severity="warning")
            return
        plan = self._checked_plan()
        if plan is None:
            return
        helm_problem = self._preflight.helm_problem
        if helm_problem:
            self.action_show_step("install")
            self.notify(helm_problem, title="helm is missing", severity="error", timeout=10, markup=False)
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
        self._verify.reset()
        self._run.start(plan)

    def action_cancel_install(self) -> None:
        if not self._run.cancel():
            self.notify("no install is running", severity="warning")

    @on(RunStep.Verifying)
    def _verifying(self) -> None:
        if self.query_one("#wiz-body", ContentSwitcher).current == "step-install":
            self.action_show_step("verify")
        self._verify.waiting()

    @on(RunStep.Verified)
    def _verified(self, event: RunStep.Verified) -> None:
        event.stop()
        self._verify.show(event.report)

    @on(RunStep.Finished)
    def _install_finished(self, event: RunStep.Finished) -> None:
        event.stop()
        if self._verify.is_busy:
            self._verify.finish()

    def action_verify(self) -> None:
        self._verify.run(self.plan)

    # --- 5 addons, 6 mesh expansion, 7 uninstall

    def action_create_ingresses(self) -> None:
        if self.refuse_if_readonly("Creating addon Ingresses"):
            return
        if not self._addons.create():
            self.action_show_step("addons")

    def action_register_vm(self) -> None:
        if self.refuse_if_readonly("Registering a VM"):
            return
        if not self.query_one(MeshStep).register():
            self.action_show_step("mesh")

    def action_uninstall(self) -> None:
        if self.refuse_if_readonly("Uninstalling Istio"):
            return
        if self._run.is_busy or self._uninstall.is_busy:
            self.notify("a helm run is already in progress", severity="warning")
            return
        self.action_show_step("uninstall")
        self._uninstall.uninstall()

    def _upgrade_action(self, action: Callable[[UpgradeStep], object]) -> None:
        if not self.refuse_if_readonly("A canary upgrade step"):
            action(self.query_one(UpgradeStep))

    @on(UninstallStep.Finished)
    def _uninstalled(self, event: UninstallStep.Finished) -> None:
        event.stop()
        if event.report is None:
            return
        self._verify.reset()
        self._run.reset()
        for step in (self._addons, self.query_one(MeshStep)):
            step.mark("")
        self._plan_changed()
