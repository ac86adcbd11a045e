"""Step 8: canary upgrade: the control planes as a table, the upgrade steps confirmed one at a time, rollback.

The steps come from ``tui.istio.upgrade`` (the same ones ``istio-tui upgrade --yes`` runs). Each runs as a
one-off thread worker; its progress lines and its end come back as typed messages, and while it runs a
poller on a ``Stream`` re-reads the control planes so the table's pod counts move live. Namespaces moved
here are remembered with their labels before the move, so rollback can put the labels back and restart them.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, Static

from tui.errors import ConfigError, IstioTuiError
from tui.istio.plan import DEFAULT_ISTIO_VERSION, FieldError
from tui.istio.revisions import ControlPlane, read_control_planes
from tui.istio.upgrade import FLAGS, Step, UpgradeOptions, build_steps, parse_namespaces, rollback_steps
from tui.models import plural
from tui.screens.confirm import ConfirmScreen
from tui.screens.install.run import helm_kubeconfig
from tui.screens.install.step import WizardStep, button_row, field_row
from tui.widgets.pod_columns import clip
from tui.widgets.stream import Stream

MAX_LOG_LINES = 200
COLUMNS = ("REVISION", "VERSION", "READY", "TAGS", "NAMESPACES", "PODS")
# The lists that grow with the cluster give way first (down to their header, the rest shown as …), so
# PODS stays on screen at 80 columns instead of scrolling off to the right.
SHRINK = (COLUMNS.index("NAMESPACES"), COLUMNS.index("TAGS"))
CELL_PADDING = 1  # the DataTable's blanks on each side of a cell: two between neighbours


def plane_row(cp: ControlPlane) -> tuple[str, ...]:
    return (
        cp.revision,
        cp.version,
        cp.ready,
        ",".join(cp.tags) or "-",
        ",".join(cp.namespaces) or "-",
        str(cp.pods),
    )


def plane_layout(planes: list[ControlPlane], *, width: int) -> tuple[list[int], list[tuple[str, ...]]]:
    """Column widths and rows that fit ``width`` cells (0: not laid out yet, no limit)."""
    rows = [plane_row(cp) for cp in planes]
    widths = [max([len(label), *(len(row[i]) for row in rows)]) for i, label in enumerate(COLUMNS)]
    excess = sum(w + 2 * CELL_PADDING for w in widths) - width if width > 0 else 0
    for i in SHRINK:
        give = min(max(excess, 0), widths[i] - len(COLUMNS[i]))
        widths[i] -= give
        excess -= give
    return widths, [tuple(clip(value, widths[i]).rstrip() for i, value in enumerate(row)) for row in rows]


POLL_S = 1.0
# The form's fields in on-screen order, by the option each sets, with their labels: a bad value is reported
# under its field and by its label (the CLI's rules name flags; this form has none).
LABELS = {
    "revision": "Revision",
    "istio_version": "Istio version",
    "chart_source": "Chart source",
    "namespaces": "Namespaces",
    "remove": "Then remove",
}
NAMES = {**FLAGS, **LABELS, "promote": "the default-tag checkbox"}


def kebab(key: str) -> str:
    return key.replace("_", "-")


class PlanesTable(DataTable[str]):
    """Says when its width changed (a terminal resize, the pane's scrollbar), so the step refits the rows."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class UpgradeStep(VerticalScroll, WizardStep):
    KEY = "upgrade"
    STATUS_ID = "up-status"

    class Planes(Message):
        def __init__(self, planes: list[ControlPlane]) -> None:
            super().__init__()
            self.planes = planes

    class Progress(Message):
        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    class Crashed(Message):
        """The control-plane poller failed on its thread."""

        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    class StepFinished(Message):
        """``error`` is "" when the step succeeded."""

        def __init__(self, index: int, error: str) -> None:
            super().__init__()
            self.index = index
            self.error = error

    def __init__(self) -> None:
        super().__init__(id="step-upgrade", classes="wiz-step")
        self.planes: list[ControlPlane] = []
        self.scans = 0  # control-plane reads shown so far
        self.steps: list[Step] = []
        self.next_index = 0
        self.log_lines: list[str] = []
        # namespace -> its labels before this view moved it: what rollback restores
        self.originals: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._poller: Stream | None = None
        self._reading = False  # scan() started the spinner; the next table read ends it

    def compose(self) -> ComposeResult:
        yield Static("8  Canary upgrade", classes="wiz-title")
        yield PlanesTable(id="up-planes", cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)
        source_hint = "official repo, an https:// mirror or a charts directory"
        inputs = {
            "revision": Input("canary", id="up-revision", compact=True),
            "istio_version": Input(placeholder=DEFAULT_ISTIO_VERSION, id="up-version", compact=True),
            "chart_source": Input(placeholder=source_hint, id="up-source", compact=True),
            "namespaces": Input(placeholder="A,B", id="up-namespaces", compact=True),
            "remove": Input(placeholder="old revision, e.g. default", id="up-remove", compact=True),
        }
        for key, widget in inputs.items():
            yield from field_row(kebab(key), LABELS[key], widget, prefix="up-")
        yield Checkbox("then point the default tag at the new revision", id="up-promote", compact=True)
        yield Static("", id="up-status", classes="wiz-status")
        yield Static("", id="up-steps", markup=False)
        yield Static("", id="up-log", markup=False)
        yield from button_row(
            Button("Plan steps", id="btn-up-plan", compact=True),
            Button(
                "Run next step…", id="btn-up-next", compact=True, variant="warning", disabled=self.readonly
            ),
            Button("Roll back…", id="btn-up-rollback", compact=True, disabled=self.readonly),
        )

    # --- the table

    def scan(self) -> None:
        if not self.is_busy:
            self._reading = True
            self.begin("reading the control planes")
        self._scan()

    @work(thread=True, exit_on_error=False, group="upgrade-scan", description="control planes")
    def _scan(self) -> None:
        self.post_message(self.Planes(read_control_planes(self.istio_app.cluster)))

    @on(Planes)
    def _planes(self, message: Planes) -> None:
        message.stop()
        self.planes = message.planes
        self._fill_table()
        self.scans += 1
        if self._reading or not (self.is_busy or self.steps):
            status = plural(len(self.planes), "control plane")
            if self.next_index < len(self.steps):
                status += f"; step {self.next_index + 1} of {len(self.steps)} is next"
            self.done(Text(status, style="dim"))

    def done(self, text: Text) -> None:
        self._reading = False
        super().done(text)

    @on(PlanesTable.Resized)
    def _fill_table(self) -> None:
        """Fixed column widths, rebuilt each time: an auto-width DataTable column never narrows again."""
        table = self.query_one("#up-planes", PlanesTable)
        row = table.cursor_row
        widths, rows = plane_layout(self.planes, width=table.size.width)
        table.clear(columns=True)
        for label, width in zip(COLUMNS, widths, strict=True):
            table.add_column(label, width=width, key=label)
        table.add_rows(rows)
        table.move_cursor(row=row, animate=False)

    # --- planning and running

    def plan_steps(self) -> bool:
        """Build the steps from the form; False (with the reason under each bad field) when a field is bad."""
        value = {key: self.query_one(f"#up-row-{kebab(key)} Input", Input).value.strip() for key in LABELS}
        errors: dict[str, str] = {}
        try:
            namespaces = parse_namespaces(value["namespaces"], names=NAMES)
        except FieldError as err:
            errors[err.field] = str(err)
            namespaces = ()
        opts = UpgradeOptions(
            revision=value["revision"],
            istio_version=value["istio_version"] or None,
            chart_source=value["chart_source"] or None,
            namespaces=namespaces,
            remove=value["remove"],
        )
        if self.query_one("#up-promote", Checkbox).value:
            opts = replace(opts, promote=opts.revision)
        steps: list[Step] = []
        try:
            steps = build_steps(
                opts,
                kubeconfig=helm_kubeconfig(self.istio_app.cluster.kubeconfig),
                context=self.istio_app.cluster.context,
                record=self.originals,
                names=NAMES,
            )
        except FieldError as err:
            errors.setdefault(err.field, str(err))
        except ConfigError as err:
            errors.setdefault("", str(err))
        for key in LABELS:
            self.show_error(f"up-err-{kebab(key)}", errors.get(key, ""))
        if errors:
            first = min(errors, key=lambda k: list(LABELS).index(k) if k in LABELS else len(LABELS))
            self.done(Text(f"✘ {errors[first]}", style="bold red"))
            return False
        self.steps = steps
        self.next_index = 0
        self._show_steps()
        self.done(Text(f"{plural(len(self.steps), 'step')} planned (run one at a time)", style="dim"))
        return True

    def _show_steps(self) -> None:
        lines = []
        for i, step in enumerate(self.steps):
            mark = "✔" if i < self.next_index else ("…" if i == self.next_index and self.is_busy else " ")
            lines.append(f"{mark} {i + 1}. {step.title}")
        self.query_one("#up-steps", Static).update("\n".join(lines))

    def run_next(self) -> None:
        if self.is_busy:
            self.notify("a step is running", severity="warning")
            return
        if not self.steps and not self.plan_steps():
            return
        if self.next_index >= len(self.steps):
            self.notify("every planned step has run", severity="information")
            return
        step = self.steps[self.next_index]
        body = [step.title, "", "The same as:", *(f"  {c}" for c in step.commands)]
        screen = ConfirmScreen(
            f"Step {self.next_index + 1} of {len(self.steps)}?",
            body,
            context=self.istio_app.context_name,
            confirm_label="Run",
            destructive=step.key.startswith("remove:"),
        )
        self.app.push_screen(screen, lambda ok: self._start(self.next_index) if ok else None)

    def rollback(self) -> None:
        if self.is_busy:
            self.notify("a step is running", severity="warning")
            return
        if not self.originals:
            self.notify("no namespace was moved here: nothing to roll back", severity="warning")
            return
        self.steps = rollback_steps(dict(self.originals))
        self.next_index = 0
        self._show_steps()
        self.run_next()

    def _start(self, index: int) -> None:
        self.begin(f"step {index + 1}/{len(self.steps)}")
        self.mark("…")
        self._show_steps()
        self._stop_poller()
        self._poller = Stream(self._poll, name="upgrade-planes", on_error=self._poll_failed).start()
        self._run_step(index)

    def _poll(self, stop: threading.Event) -> None:
        """The table follows the step live: pods move between revisions while it runs."""
        cluster = self.istio_app.cluster
        while not stop.wait(POLL_S):
            self.post_message(self.Planes(read_control_planes(cluster)))

    def _poll_failed(self, err: BaseException) -> None:
        self.post_message(self.Crashed(err))

    @on(Crashed)
    def _crashed(self, message: Crashed) -> None:
        message.stop()
        self.istio_app.report_error(message.error, "control planes")

    def _stop_poller(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None

    @work(thread=True, exit_on_error=False, group="upgrade-step", description="upgrade step")
    def _run_step(self, index: int) -> None:
        step = self.steps[index]

        def say(line: str) -> None:
            self.post_message(self.Progress(line))

        try:
            step.run(self.istio_app.cluster, say, self._stop)
        except IstioTuiError as err:
            self.post_message(self.StepFinished(index, str(err)))
            return
        self.post_message(self.StepFinished(index, ""))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        message.stop()
        self.log_lines = [*self.log_lines, message.line][-MAX_LOG_LINES:]
        self.query_one("#up-log", Static).update("\n".join(self.log_lines[-8:]))
        self.relabel(message.line)

    @on(StepFinished)
    def _step_finished(self, message: StepFinished) -> None:
        message.stop()
        self._stop_poller()
        if message.error:
            self.done(Text(f"✘ step {message.index + 1}: {message.error}", style="bold red"))
            self.mark("✘")
        else:
            self.next_index = message.index + 1
            finished = self.next_index >= len(self.steps)
            text = "every step done" if finished else f"step {message.index + 1} done; confirm the next"
            self.done(Text(f"✔ {text}", style="bold green"))
            self.mark("✔" if finished else "")
            if self.steps and self.steps[message.index].key.startswith("move-back:"):
                self.originals.pop(self.steps[message.index].key.split(":", 1)[1], None)
        self._show_steps()
        self._scan()

    def on_unmount(self) -> None:
        self._stop.set()
        self._stop_poller()
