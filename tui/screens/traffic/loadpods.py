"""The live box's load pods: one line each for an in-cluster run, short enough to never wrap.

At 80x24 the box is about 36 columns wide and has three rows to spare, so the lines give way detail by
detail (see ``GIVES_WAY``) until they fit, and a run with more pods than rows ends in a summary (``+K more``,
the count of every state, the total rate) so no pod's trouble is ever off screen without a trace.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from tui.traffic.incluster import LoadPod

# What gives way, in this order, when the lines are too wide; the pod's suffix, state and rate stay.
GIVES_WAY = ("job name", "node", "pod word", "req unit")
STATE_STYLES = {
    "Running": "green", "Done": "green", "Succeeded": "green", "Pending": "yellow", "Stopped": "yellow"
}


def short_names(names: Sequence[str]) -> dict[str, str]:
    """Each Job pod without the ``-``-separated prefix all of them share (the Job's name); the last part, the
    random suffix that tells the pods apart, always stays: ``istio-tui-load-mpr4c-qd5dg`` -> ``qd5dg``."""
    parts = [name.split("-") for name in names]
    shared = min((len(p) - 1 for p in parts), default=0)
    for i in range(shared):
        if len({p[i] for p in parts}) > 1:
            shared = i
            break
    return {name: "-".join(p[shared:]) for name, p in zip(names, parts, strict=True)}


def _pod_lines(pods: Sequence[LoadPod], *, gone: frozenset[str]) -> list[Text]:
    names = short_names([p.name for p in pods]) if "job name" in gone else {p.name: p.name for p in pods}
    name_w = max(len(n) for n in names.values())
    node_w = max(len(p.node or "?") for p in pods)
    state_w = max(len(p.state) for p in pods)
    rate_w = max(len(f"{p.rps:.0f}") for p in pods)
    req_w = max(len(str(p.requests)) for p in pods)
    lines = []
    for pod in pods:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("load " if "pod word" in gone else "load pod ", style="dim")
        line.append(f"{names[pod.name]:<{name_w}}", style="bold")
        if "node" not in gone:
            line.append(f" on {pod.node or '?':<{node_w}}", style="dim")
        line.append(": ")
        line.append(f"{pod.state:<{state_w}}", style=STATE_STYLES.get(pod.state, "bold red"))
        line.append(f" {pod.rps:>{rate_w}.0f}/s", style="bold")
        line.append(f" {pod.requests:>{req_w}}")
        if "req unit" not in gone:
            line.append(" req", style="dim")
        lines.append(line)
    return lines


def _summary(pods: Sequence[LoadPod], *, hidden: int, width: int) -> list[Text]:
    """``+K more``, how many pods, their total rate and the count of each state: one line, or two when one
    does not fit in ``width``."""
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"+{hidden} more", style="bold")
    head.append(f" · {len(pods)} load pods · ")
    head.append(f"{sum(p.rps for p in pods):.0f}/s", style="bold")
    states = Text(no_wrap=True, overflow="ellipsis")
    for i, (state, n) in enumerate(sorted(Counter(p.state for p in pods).items())):
        states.append(f"{' ' if i else ''}{n} {state}", style=STATE_STYLES.get(state, "bold red"))
    one = Text.assemble(head, " · ", states, no_wrap=True, overflow="ellipsis")
    return [one] if not width or one.cell_len <= width else [head, states]


def load_pod_lines(pods: Sequence[LoadPod], *, width: int = 0, rows: int = 0) -> Text:
    """One line per pod in ``width`` cells (0: no limit), at most ``rows`` lines (0: no limit): with more pods
    than rows, as many pods as fit above a summary of all of them."""
    if not pods:
        return Text()
    shown = list(pods)
    summary: list[Text] = []
    if rows and len(pods) > rows:
        for summary_rows in (1, 2):
            shown = list(pods[: max(rows - summary_rows, 0)])
            summary = _summary(pods, hidden=len(pods) - len(shown), width=width)
            if len(summary) <= summary_rows:
                break
    lines: list[Text] = []
    for level in range(len(GIVES_WAY) + 1):
        lines = _pod_lines(shown, gone=frozenset(GIVES_WAY[:level])) if shown else []
        if not width or all(line.cell_len <= width for line in lines):
            break
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines + summary)


class LoadPodsView(Widget):
    """The pods of an in-cluster run, drawn again whenever the box's width changes; ``rows`` is how many
    lines the layout can spare (the split history gives way to them, see ``app.tcss``)."""

    _pods: tuple[LoadPod, ...] = ()
    rows = 0

    def show(self, pods: Sequence[LoadPod], *, rows: int) -> None:
        if (tuple(pods), rows) != (self._pods, self.rows):
            self._pods, self.rows = tuple(pods), rows
            self.refresh(layout=True)

    def render(self) -> Text:
        return load_pod_lines(self._pods, width=self.content_size.width, rows=self.rows)
