"""Rendering for the install wizard: checklists, release states, pods and previews as Rich text.

Kept apart from the pane so the pane holds only flow (keys, workers, confirmations) and these stay pure
functions of the core's dataclasses, easy to reason about and identical in snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from tui.istio.helm import StepEvent
from tui.istio.plan import InstallPlan
from tui.models import CheckLine, IngressInfo, LeftoverItem, PodProgress, plural

STEPS: tuple[tuple[str, str], ...] = (
    ("preflight", "Preflight"),
    ("choices", "Choices"),
    ("install", "Install"),
    ("verify", "Verify"),
    ("addons", "Addon access"),
    ("mesh", "Mesh expansion"),
    ("uninstall", "Uninstall"),
    ("upgrade", "Canary upgrade"),
)
_MARK = {"pass": ("✔", "green"), "warn": ("!", "yellow"), "fail": ("✘", "red")}
_STATE_STYLE = {
    "waiting": "dim",
    "running": "bold yellow",
    "deployed": "green",
    "uninstalled": "green",
    "failed": "bold red",
    "cancelled": "yellow",
}


@dataclass
class ReleaseState:
    """One helm step as the progress table shows it."""

    name: str
    chart: str
    state: str = "waiting"
    elapsed_s: float = 0.0
    detail: str = ""


def apply_step(states: list[ReleaseState], event: StepEvent, *, done: str) -> bool:
    """One helm step event onto the release states (``done``: "deployed" or "uninstalled"); False if it
    changes none (output lines, unknown steps)."""
    if event.kind == "output" or event.index >= len(states):
        return False
    state = states[event.index]
    if event.kind == "start":
        state.state, state.detail = "running", ""
    elif event.kind == "done":
        state.state, state.elapsed_s = done, event.elapsed_s
    elif event.kind == "failed":
        state.state, state.detail, state.elapsed_s = "failed", event.line, event.elapsed_s
    elif event.kind == "cancelled":
        for rest in states[event.index :]:
            rest.state = "cancelled"
    return True


def step_prompt(index: int, title: str, mark: str) -> Text:
    """A line of the step list: number, title and a status mark (✔ done, ✘ failed, … running)."""
    style = {"✔": "green", "✘": "red", "…": "yellow", "!": "yellow"}.get(mark, "")
    return Text.assemble(f"{index} ", title.ljust(15), (mark or " ", f"bold {style}".strip()))


TITLE_MAX = 32
DETAIL_MIN = 40  # narrower than this, the detail column would cut an address or a fix into slivers


@dataclass(frozen=True)
class Checklist:
    """pass/warn/fail lines laid out for their width: mark, title and detail in aligned columns when the
    detail has room. Narrower (step 4 at 80 columns), the mark is its glyph alone and the detail follows its
    title, or starts under it when it would not fit whole beside it, so ``INGRESS_HOST:PORT = host:port``
    is never cut and the list stays short enough for the gateway banner to show."""

    lines: tuple[CheckLine, ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        title_width = min(TITLE_MAX, max((len(line.title) for line in self.lines), default=0))
        aligned = options.max_width - len("✘ FAIL") - title_width - 2 >= DETAIL_MIN
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
        table.add_column(no_wrap=True)
        if aligned:
            table.add_column(no_wrap=True, max_width=TITLE_MAX)
        table.add_column(ratio=1)
        for line in self.lines:
            mark, style = _MARK.get(line.status, ("?", ""))
            title = Text(line.title, style="bold")
            detail = Text(line.reason)
            if line.fix and line.status != "pass":
                detail.append(f"\nfix: {line.fix}", style="italic")
            if aligned:
                table.add_row(Text(f"{mark} {line.status.upper()}", style=f"bold {style}"), title, detail)
                continue
            beside = cell_len(f"{line.title}  {line.reason}") <= options.max_width - 2
            table.add_row(
                Text(mark, style=f"bold {style}"), Text.assemble(title, "  " if beside else "\n", detail)
            )
        yield table


def leftovers(items: Sequence[LeftoverItem], *, before: bool = False) -> Text:
    """The leftover audit; ``before`` (Istio still installed) titles it as what an uninstall will face."""
    if not items:
        return Text(
            "✔ leftover audit is empty: no Istio webhooks, CRDs, labels or objects remain", style="bold green"
        )
    if before:
        out = Text(f"Istio in the cluster now: {plural(len(items), 'item')}\n", style="bold")
    else:
        out = Text(f"! {plural(len(items), 'thing')} left behind:\n", style="bold yellow")
    for item in items:
        out.append(f"  {item.kind:16} ", style="yellow")
        out.append(item.name)
        if item.detail:
            out.append(f"  ({item.detail})", style="dim")
        out.append("\n")
    out.rstrip()
    return out


def release_rows(states: Iterable[ReleaseState], *, chart: bool = True) -> list[tuple[Text | str, ...]]:
    rows: list[tuple[Text | str, ...]] = []
    for i, st in enumerate(states, start=1):
        elapsed = f"{st.elapsed_s:.1f}s" if st.elapsed_s else ""
        state = Text(st.state, style=_STATE_STYLE.get(st.state, ""))
        detail = Text(st.detail, style="red" if st.state == "failed" else "dim")
        rows.append(
            (str(i), st.name, st.chart, state, elapsed, detail)
            if chart
            else (str(i), st.name, state, elapsed, detail)
        )
    return rows


def pod_rows(pods: Iterable[PodProgress]) -> list[tuple[Text | str, ...]]:
    rows: list[tuple[Text | str, ...]] = []
    for pod in pods:
        ready = pod.ready.split("/")
        done = len(ready) == 2 and ready[0] == ready[1] and ready[1] != "0"
        phase_style = "green" if pod.phase == "Running" and done else "yellow"
        rows.append(
            (pod.name, Text(pod.phase, style=phase_style), pod.ready, Text(pod.stall, style="bold red"))
        )
    return rows


def gateway_banner(ingress: IngressInfo | None) -> Text:
    """The line a user copies: ``INGRESS_HOST:PORT`` and the matching ``export``."""
    if ingress is None:
        return Text("INGRESS_HOST:PORT  (no istio-ingressgateway Service yet)", style="dim")
    if not ingress.host or not ingress.port:
        what = "LoadBalancer pending" if ingress.pending_load_balancer else "waiting for the gateway pod"
        return Text(f"INGRESS_HOST:PORT  ({what})", style="yellow")
    return Text.assemble(
        ("INGRESS_HOST:PORT  ", "bold"),
        (ingress.gateway_url, "bold green"),
        (f"   ({ingress.service_type})", "dim"),
        "\n",
        (f"export GATEWAY_URL={ingress.gateway_url}", "italic"),
    )


def plan_preview(plan: InstallPlan) -> Text:
    """The equivalent shell commands, then every values file, as the save key writes them.

    Highlighted once into plain ``Text``: a live ``Syntax`` re-lexes on every repaint and measure, which made
    each keystroke in the form cost a full pygments pass over every file.
    """
    out = Text()
    out.append("# install.sh\n", style="bold")
    out.append_text(_highlight(plan.install_script(), "bash"))
    for name, text in plan.values_files().items():
        out.append(f"\n# {name}\n", style="bold")
        out.append_text(_highlight(text, "yaml"))
    return out


def manifests_preview(docs: Sequence[Mapping[str, Any]]) -> Text:
    return _highlight("---\n".join(yaml.safe_dump(dict(d), sort_keys=False) for d in docs), "yaml")


def _highlight(code: str, lexer: str) -> Text:
    text = Syntax(code, lexer, theme="ansi_dark", background_color="default").highlight(code)
    # The lexer's base "on default" would paint the terminal's own background over the pane's.
    text.style = ""
    text.spans = [span for span in text.spans if span.style != "on default"]
    text.rstrip()
    return text
