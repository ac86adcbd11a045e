"""The Textual app: header, one tab per work area, the ``:`` prompt, the palette and the one error handler.

The app receives its backends (settings, a ``tui.kube.Cluster`` and its ``ClusterInfo``) and never builds a
client itself, so the tests and the CLI drive exactly the same object. Panes reach the shared state through
``app.cluster``, ``app.settings``, ``app.readonly``, ``app.context_name``, ``app.namespace`` (the pod table's
namespace, None for all) and ``app.namespace_labels`` (every namespace's labels, live).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import Screen
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker

from tui import kube
from tui.config import Settings
from tui.errors import IstioTuiError, redact, user_line
from tui.kube import ClusterInfo
from tui.screens.analysis import AnalysisPane
from tui.screens.help import HelpScreen, HelpSection
from tui.screens.install import InstallPane
from tui.screens.namespaces import NamespacesPane
from tui.screens.pods import PodsPane
from tui.screens.traffic import TrafficPane
from tui.widgets.header import AppHeader
from tui.widgets.pane import READ_ONLY_REASON, WorkerErrors, WorkPane
from tui.widgets.prompt import CandidateSuggester, PromptInput
from tui.widgets.watchfeed import WatchFeed

# One line per work area, in tab order (install, pods, namespaces, traffic).
PANES: tuple[type[WorkPane], ...] = (
    InstallPane,
    PodsPane,
    NamespacesPane,
    TrafficPane,
    AnalysisPane,
)

Clock = Callable[[], datetime]
NamespaceLabels = Mapping[str, Mapping[str, str]]
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PANE_WORDS = {
    "po": "pods",
    "pod": "pods",
    "pods": "pods",
    "install": "install",
    "traffic": "traffic",
    "analysis": "analysis",
    "analyze": "analysis",
}
COMMAND_WORDS = ("all", "ns ", "pods", "install", "namespaces", "traffic", "analysis", "help", "quit", "-l ")
WATCH_TIMEOUT_S = 50


def utc_now() -> datetime:
    return datetime.now(UTC)


def _namespace_entry(obj: dict[str, Any]) -> tuple[str, dict[str, str]]:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", "")), dict(meta.get("labels") or {})


class IstioCommands(Provider):
    """Every action of the app and of each pane; destructive ones greyed out with the reason in read-only."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object], bool]]:
        app = self.app
        assert isinstance(app, IstioApp)
        entries: list[tuple[str, str, Callable[[], object], bool]] = [
            ("Help", "Show every key binding (?)", app.action_help, True),
            ("Quit", "Leave istio-tui (q)", app.action_quit_app, True),
            ("Command prompt", "Switch namespace or work area (:)", app.action_command_prompt, True),
            ("All namespaces", "Pods in every namespace (:all)", _bind(app.switch_namespace, None), True),
        ]
        for pane in PANES:
            entries.append(
                (f"Go to {pane.TITLE}", f"The {pane.TITLE} area", _bind(app.show_pane, pane.PANE_ID), True)
            )
            for action in pane.ACTIONS:
                enabled = not (action.destructive and app.readonly)
                key = f" ({action.key_display or action.key})" if action.key else ""
                entries.append(
                    (
                        f"{pane.TITLE}: {action.title}",
                        action.help + key if enabled else f"disabled: {READ_ONLY_REASON}",
                        _bind(app.run_pane_action, pane.PANE_ID, action.action)
                        if enabled
                        else _bind(app.refuse_readonly, action.title),
                        enabled,
                    )
                )
        return entries

    def _display(self, title: str, enabled: bool, highlighted: VisualType | None = None) -> VisualType:
        if enabled:
            return highlighted or Text(title)
        return Text.assemble((title, "dim strike"), (f"  ({READ_ONLY_REASON})", "dim italic"))

    async def discover(self) -> Hits:
        for title, help_text, callback, enabled in self._entries():
            yield DiscoveryHit(self._display(title, enabled), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, enabled in self._entries():
            score = matcher.match(title)
            if score > 0:
                shown = self._display(title, enabled, matcher.highlight(title))
                yield Hit(score, shown, callback, text=title, help=help_text)


def _bind(fn: Callable[..., object], *args: object) -> Callable[[], object]:
    return lambda: fn(*args)


class MainScreen(Screen[None]):
    """The screen holding the work areas; focus here never changes the work area or leaves an open prompt.

    ``Widget.focus()`` is deferred, and Textual's TabbedContent activates the tab of whatever gets focus. So a
    pane's late ``focus()`` (after ``f1``, a timer, the prompt closing) used to switch the tab back, and one
    landing while the ``:`` prompt was open sent the next typed keys to the pane's bindings. Only
    ``IstioApp.show_pane`` changes the work area; an open prompt keeps focus until it closes.
    """

    def set_focus(
        self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False
    ) -> None:
        if widget is not None and not self._may_focus(widget):
            return
        super().set_focus(widget, scroll_visible, from_app_focus)

    def _may_focus(self, widget: Widget) -> bool:
        focused = self.focused
        if isinstance(focused, PromptInput) and focused.is_open and not isinstance(widget, PromptInput):
            return False
        tabs = self.query("#work-areas")
        if not tabs:
            return True
        active = tabs.first(TabbedContent).active
        pane = next((n for n in widget.ancestors_with_self if isinstance(n, TabPane)), None)
        return pane is None or pane.id == active


class IstioApp(WorkerErrors, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "istio-tui"
    COMMANDS = App.COMMANDS | {IstioCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit_app", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True, id="app.quit-ctrl-c"),
        Binding("colon", "command_prompt", "Command", key_display=":", id="app.command"),
        *[
            Binding(f"f{i}", f"show_pane('{pane.PANE_ID}')", pane.TITLE, show=False, id=f"app.{pane.PANE_ID}")
            for i, pane in enumerate(PANES, start=1)
        ],
    ]

    class StreamFailed(Message):
        """A stream of the app's own failed on its thread; ``post_message`` is thread-safe and, unlike
        ``call_from_thread``, harmless while the app is closing."""

        def __init__(self, error: BaseException, what: str) -> None:
            super().__init__()
            self.error = error
            self.what = what

    namespace: var[str | None] = var(None, init=False)
    namespace_labels: var[NamespaceLabels] = var(MappingProxyType({}), init=False)

    def __init__(
        self,
        *,
        settings: Settings,
        cluster: kube.Cluster,
        info: ClusterInfo,
        sandbox_kubeconfig: str | None = None,
        clock: Clock = utc_now,
        initial_pane: str = "pods",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.cluster = cluster
        self.info = info
        self.readonly = settings.readonly
        self.context_name = info.context
        self.sandbox_kubeconfig = sandbox_kubeconfig
        self.clock = clock
        self.recent_namespaces: list[str] = []
        known = {p.PANE_ID for p in PANES}
        self._initial_pane = initial_pane if initial_pane in known else PANES[0].PANE_ID
        self._connection: dict[str, str] = {}
        self._ns_feed: WatchFeed[tuple[str, dict[str, str]]] | None = None
        self._ns_state: dict[str, tuple[str, dict[str, str]]] = {}
        self.set_reactive(IstioApp.namespace, settings.namespace)
        home = settings.namespace or getattr(cluster, "namespace", None) or "default"
        self.recent_namespaces.append(home)

    # --- layout

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield AppHeader(self.info, readonly=self.readonly)
        with TabbedContent(id="work-areas", initial=self._initial_pane):
            for pane in PANES:
                with TabPane(pane.TITLE, id=pane.PANE_ID):
                    yield pane()
        yield Footer()
        # After the footer: both dock to the bottom line, and the later one is drawn on top while open.
        yield PromptInput(
            placeholder=":all  :ns NAME  :pods  :-l app=x  :q",
            id="command-prompt",
            classes="-hidden",
            suggester=CandidateSuggester(self._command_candidates),
        )

    def on_mount(self) -> None:
        self._watch_namespaces()
        self.set_interval(0.25, self._apply_namespaces)

    def on_unmount(self) -> None:
        if self._ns_feed is not None:
            self._ns_feed.stop()

    # --- shared state for the panes

    def _watch_namespaces(self) -> None:
        feed: WatchFeed[tuple[str, dict[str, str]]] = WatchFeed(_namespace_entry)
        self._ns_feed = feed
        feed.start(
            lambda: self.cluster.watch(kube.NAMESPACES, timeout_seconds=WATCH_TIMEOUT_S),
            name="namespaces",
            on_error=self._namespace_watch_failed,
        )

    def _apply_namespaces(self) -> None:
        if self._ns_feed is None:
            return
        batch = self._ns_feed.drain()
        self.set_connection("namespaces", batch.reconnecting)
        if batch.empty:
            return
        for key in batch.deletes:
            self._ns_state.pop(key, None)
        self._ns_state.update(batch.upserts)
        self.namespace_labels = MappingProxyType(dict(sorted(self._ns_state.values())))

    def set_connection(self, source: str, message: str) -> None:
        """Each watch reports here; the header says "reconnecting…" while any of them is down."""
        if self._connection.get(source, "") == message:
            return
        if message:
            self._connection[source] = message
        else:
            self._connection.pop(source, None)
        headers = self.main_screen.query(AppHeader)
        if headers:
            headers.first().show_connection("; ".join(self._connection.values()))

    @property
    def main_screen(self) -> Screen[Any]:
        """The screen holding the panes; ``app.query`` would search whatever dialog is on top."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    @property
    def reconnecting(self) -> bool:
        return bool(self._connection)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification passes here, so no credential reaches the screen whoever wrote the text."""
        text, heading = redact(message), redact(title)
        super().notify(text, title=heading, severity=severity, timeout=timeout, markup=markup)

    def report_worker_error(self, worker: Worker[Any]) -> None:
        """Failed workers land here; see ``report_error``."""
        if worker.error is not None:
            self.report_error(worker.error, worker.description or worker.name or "background task")

    def report_error(self, err: BaseException, what: str) -> None:
        """The single handler for failed background work: one clear notification, never a traceback."""
        message = user_line(err) if isinstance(err, IstioTuiError) else f"{what} failed: {user_line(err)}"
        self.notify(message, title="Error", severity="error", timeout=10, markup=False)

    def refuse_readonly(self, what: str) -> None:
        self.notify(f"{what} is disabled in {READ_ONLY_REASON}", severity="warning")

    def switch_namespace(self, name: str | None) -> None:
        """Point the pod table at ``name`` (None: all namespaces) and remember it for the 1-9 keys."""
        if name:
            if name in self.recent_namespaces:
                self.recent_namespaces.remove(name)
            self.recent_namespaces.insert(0, name)
            del self.recent_namespaces[9:]
        self.namespace = name
        self.show_pane("pods")

    def show_pane(self, pane_id: str) -> None:
        tabs = self.main_screen.query_one("#work-areas", TabbedContent)
        if not tabs.query(f"TabPane#{pane_id}"):
            self.notify(f"no work area named {pane_id!r}", severity="warning")
        elif tabs.active != pane_id:
            tabs.active = pane_id  # TabActivated then focuses the pane
        else:
            self._focus_pane(pane_id)

    def _focus_pane(self, pane_id: str) -> None:
        for pane in self.main_screen.query(WorkPane):
            if pane_id == pane.PANE_ID:
                pane.focus_content()

    def run_pane_action(self, pane_id: str, action: str) -> None:
        self.show_pane(pane_id)
        for pane in self.main_screen.query(WorkPane):
            if pane_id == pane.PANE_ID:
                self.call_later(self.run_action, action, pane)

    def _namespace_watch_failed(self, err: BaseException) -> None:
        self.post_message(self.StreamFailed(err, "namespace watch"))

    @on(StreamFailed)
    def _stream_failed(self, event: StreamFailed) -> None:
        self.report_error(event.error, event.what)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane is not None and event.pane.id:
            self._focus_pane(event.pane.id)

    # --- keys

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections(), footer_lines=self._help_footer()))

    def action_quit_app(self) -> None:
        self.exit()

    def action_show_pane(self, pane_id: str) -> None:
        self.show_pane(pane_id)

    def on_key(self, event: events.Key) -> None:
        """Typeahead: keys typed right after ``/`` or ``:`` went to the table; hand them to the prompt.

        A printable key only reaches the app while a prompt has focus if the prompt never saw it (an Input
        consumes every printable key it receives), so it must not fall through to a binding such as ``d``.
        """
        focused = self.focused
        if isinstance(focused, PromptInput) and event.is_printable and event.character:
            event.prevent_default()
            event.stop()
            focused.insert_text_at_cursor(event.character)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The ``:`` prompt lives on the main screen; viewers and dialogs go back there first (esc)."""
        if action == "command_prompt":
            return self.screen is self.screen_stack[0]
        return True

    def action_command_prompt(self) -> None:
        self.main_screen.query_one("#command-prompt", PromptInput).open()

    @on(PromptInput.Cancelled, "#command-prompt")
    def _prompt_cancelled(self) -> None:
        self._close_prompt()

    @on(PromptInput.Submitted, "#command-prompt")
    def _prompt_submitted(self, event: PromptInput.Submitted) -> None:
        """Run first, then focus whichever area is active now: focusing the old one would switch back."""
        self.main_screen.query_one("#command-prompt", PromptInput).close()
        self.run_command(event.value)
        self._focus_pane(self.main_screen.query_one("#work-areas", TabbedContent).active)

    def _close_prompt(self) -> None:
        self.main_screen.query_one("#command-prompt", PromptInput).close()
        self._focus_pane(self.main_screen.query_one("#work-areas", TabbedContent).active)

    def _command_candidates(self) -> Iterable[str]:
        yield from COMMAND_WORDS
        for name in self.namespace_labels:
            yield name
            yield f"ns {name}"

    def run_command(self, text: str) -> None:
        """The ``:`` language: ``all``, ``ns NAME``, ``NAME``, ``pods``, ``ns``, ``install``, ``traffic``,
        ``-l SELECTOR``, ``help``, ``q``."""
        words = text.strip().lstrip(":").split()
        if not words:
            return
        head, rest = words[0], words[1:]
        if head in ("q", "q!", "quit", "exit"):
            self.exit()
        elif head in ("help", "?"):
            self.action_help()
        elif head in ("all", "-A") or (head in ("ns", "namespace") and rest == ["all"]):
            self.switch_namespace(None)
        elif head in ("ns", "namespace", "namespaces") and rest:
            self._switch_checked(rest[0])
        elif head in ("ns", "namespace", "namespaces"):
            self.show_pane("namespaces")
        elif head == "-l":
            self.run_pane_action("pods", f"label_selector({' '.join(rest)!r})")
        elif head in _PANE_WORDS:
            if rest and _PANE_WORDS[head] == "pods":
                self._switch_checked(rest[0])
            else:
                self.show_pane(_PANE_WORDS[head])
        elif head in self.namespace_labels:
            self.switch_namespace(head)
        else:
            self.notify(f"unknown command or namespace: {head!r} (press ? for the list)", severity="warning")

    def _switch_checked(self, name: str) -> None:
        if name == "all":
            self.switch_namespace(None)
        elif not _DNS_LABEL.match(name):
            self.notify(f"{name!r} is not a valid namespace name", severity="warning")
        else:
            if self.namespace_labels and name not in self.namespace_labels:
                self.notify(f"namespace {name!r} does not exist yet; watching it anyway", severity="warning")
            self.switch_namespace(name)

    # --- help

    def help_sections(self) -> list[HelpSection]:
        sections: list[HelpSection] = [
            (
                "Everywhere",
                [
                    ("?", "this help"),
                    ("q  ctrl+c", "quit"),
                    (":", "command prompt (tab completes)"),
                    ("ctrl+p", "command palette: every action by name"),
                    *[(f"f{i}", f"go to {p.TITLE}") for i, p in enumerate(PANES, start=1)],
                    ("esc", "close a dialog or prompt, clear a filter"),
                ],
            ),
            (
                "Command prompt (:)",
                [
                    (":all", "pods in all namespaces (also 0)"),
                    (":ns NAME  :NAME", "pods in namespace NAME"),
                    (":-l app=x", "pods matching a label selector"),
                    (
                        "  ".join(":ns" if p.PANE_ID == "namespaces" else f":{p.PANE_ID}" for p in PANES),
                        "go to a work area",
                    ),
                    (":q", "quit"),
                ],
            ),
        ]
        for pane in PANES:
            rows = [
                (
                    a.key_display or a.key or "(palette)",
                    f"{a.help} — disabled: {READ_ONLY_REASON}" if a.destructive and self.readonly else a.help,
                )
                for a in pane.ACTIONS
            ]
            sections.append((pane.TITLE, [*rows, *pane.KEY_HELP]))
        return sections

    def _help_footer(self) -> list[str]:
        lines = [f"context {self.context_name}  ·  {self.info.server}  ·  {self.info.git_version}"]
        if self.readonly:
            lines.append("READ-ONLY: nothing that changes the cluster is bound.")
        if self.sandbox_kubeconfig:
            lines.append(f"Sandbox kubeconfig: {self.sandbox_kubeconfig}")
            lines.append(f"  kubectl --kubeconfig {self.sandbox_kubeconfig} get pods -A")
        return lines
