"""The app shell against the real sandbox: header, READ-ONLY badge, help, palette, prompt, errors, quit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.widgets import Static, TabbedContent
from textual.widgets._footer import FooterKey

from tests.helpers import until
from tui.__main__ import build_parser, main
from tui.app import IstioApp
from tui.config import Settings
from tui.errors import IstioTuiError
from tui.kube import Cluster
from tui.sandbox.cluster import Sandbox
from tui.screens.describe import PodDescribeScreen
from tui.screens.help import HelpScreen
from tui.widgets.pane import PaneAction, WorkPane
from tui.widgets.prompt import PromptInput

SIZE = (120, 36)


def text_of(app: IstioApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def make_app(cluster: Cluster, **settings: Any) -> IstioApp:
    return IstioApp(
        settings=Settings(**settings), cluster=cluster, info=cluster.info(), sandbox_kubeconfig="/x/kc"
    )


async def test_header_names_the_cluster_and_help_lists_bindings(sandbox: Sandbox, cluster: Cluster) -> None:
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        header = text_of(app, "#header-cluster")
        assert "sandbox" in header and sandbox.url in header and "v1.32" in header
        assert not app.query("#header-readonly")
        assert {"pods"} <= {p.id for p in app.query("TabPane")}

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = text_of(app, "#help-body")
        for expected in ("ctrl+p", ":all", "describe", "ctrl+d", "shift+n", "Sandbox kubeconfig: /x/kc"):
            assert expected in body
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_readonly_badge_and_greyed_palette(cluster: Cluster) -> None:
    app = make_app(cluster, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        assert "READ-ONLY" in text_of(app, "#header-readonly")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await pilot.press(*"Delete pod")
        options = app.screen.query_one(CommandList)
        await until(pilot, lambda: options.option_count > 0, "palette hits")
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Delete pod" in p and "read-only mode" in p for p in prompts)
        await pilot.press("enter")
        await until(
            pilot, lambda: any("read-only" in n.message for n in app._notifications), "refusal notice"
        )

        await pilot.press("question_mark")
        assert "disabled: read-only mode" in text_of(app, "#help-body")


async def test_palette_runs_pane_actions(cluster: Cluster) -> None:
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Filter")
        options = app.screen.query_one(CommandList)
        await until(pilot, lambda: options.option_count > 0, "palette hits")
        await pilot.press("enter")
        await until(
            pilot, lambda: app.focused is not None and app.focused.id == "pods-filter", "filter prompt"
        )


async def test_worker_failure_is_one_clear_notification(cluster: Cluster) -> None:
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(PodDescribeScreen("default", "no-such-pod"))
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications), "error toast")
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("no-such-pod" in m and "Traceback" not in m for m in errors)
        assert "could not load" in text_of(app, "#viewer-text")


async def test_command_prompt_rejects_unknown_words(cluster: Cluster) -> None:
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"bogus", "enter")
        assert any("unknown command or namespace: 'bogus'" in n.message for n in app._notifications)
        await pilot.press("colon", *"ns Bad_Name", "enter")
        assert any("not a valid namespace name" in n.message for n in app._notifications)
        assert app.namespace is None
        await pilot.press("colon", *"q", "enter")
        await pilot.pause()
        assert app.return_code == 0


PANE_KEYS = {"install": "f1", "pods": "f2", "namespaces": "f3", "traffic": "f4"}


@pytest.mark.parametrize(
    ("start", "command", "target"),
    [
        ("pods", "traffic", "traffic"),
        ("install", "pods", "pods"),
        ("pods", "ns", "namespaces"),
        ("traffic", "install", "install"),
        ("namespaces", "traffic", "traffic"),
    ],
)
async def test_prompt_draws_each_key_and_the_work_area_stays(
    cluster: Cluster, start: str, command: str, target: str
) -> None:
    """Typed right after switching tabs, one key at a time: every key lands in the prompt (drawn), none
    reaches a pane (``p`` on Install would re-run preflight), and the chosen tab is still active 2 s later."""
    app = make_app(cluster)
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.query_one("#work-areas", TabbedContent)
        prompt = app.query_one("#command-prompt", PromptInput)
        await pilot.press(PANE_KEYS[start], "colon")
        assert tabs.active == start
        for typed in (command[:i] for i in range(1, len(command) + 1)):
            await pilot.press(typed[-1])
            await pilot.pause(0.1)
            assert app.focused is prompt, f"focus moved to {app.focused} after {typed!r}"
            assert prompt.value == typed
            assert typed in prompt_line(app)
        await pilot.press("enter")
        await until(pilot, lambda: tabs.active == target, f"the {target} tab")
        assert not prompt.is_open
        for _ in range(20):
            await pilot.pause(0.1)
            assert tabs.active == target, f"jumped back to {tabs.active}"
        assert app.focused is not None and target in {n.id for n in app.focused.ancestors_with_self}


def prompt_line(app: IstioApp) -> str:
    """The prompt's line as the terminal shows it: the topmost widget there must be the prompt (the footer
    once covered it, so typed keys worked but were never seen)."""
    prompt = app.query_one("#command-prompt", PromptInput)
    region = prompt.region
    assert region.height > 0, "the prompt has no room on screen"
    top, _ = app.screen.get_widget_at(region.x + region.width // 2, region.y)
    assert top is prompt, f"{top} covers the prompt"
    return prompt.render_line(0).text


def test_unreachable_cluster_fails_before_the_ui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    sb = Sandbox(port=0)
    sb.start()
    kc = sb.write_kubeconfig(tmp_path / "kc")
    sb.stop()
    assert main(["--kubeconfig", str(kc)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("istio-tui: ") and "\n" not in err and "Traceback" not in err


def test_sandbox_flag_writes_a_kubeconfig_users_can_seed_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seen: dict[str, Any] = {}

    def fake_run(self: IstioApp) -> None:  # the terminal UI itself is covered by the Pilot tests
        seen["kubeconfig"] = self.sandbox_kubeconfig
        seen["helm"] = self.cluster.kubeconfig
        seen["mode"] = Path(self.sandbox_kubeconfig or "").stat().st_mode & 0o777
        seen["port"] = self.cluster.server.rsplit(":", 1)[1]
        seen["version"] = self.cluster.info().git_version
        seen["context"] = self.context_name

    monkeypatch.setattr(IstioApp, "run", fake_run)
    from tui.launch import run_tui

    args: argparse.Namespace = build_parser().parse_args(["--sandbox"])
    assert run_tui(args) == 0
    path = tmp_path / "state" / "istio-tui" / f"sandbox-{seen.pop('port')}.kubeconfig"
    assert seen == {
        "kubeconfig": str(path),
        "helm": str(path),
        "mode": 0o600,
        "version": "v1.32.0",
        "context": "sandbox",
    }
    assert not path.exists()  # the run's own file goes with it


def test_bad_kubeconfig_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    bad = tmp_path / "kc"
    bad.write_text("clusters: [oops")
    from tui.launch import run_tui

    with pytest.raises(IstioTuiError):
        run_tui(build_parser().parse_args(["--kubeconfig", str(bad)]))


class _PresetPane(WorkPane):
    PANE_ID = "presets"
    ACTIONS = (PaneAction("preset('canary')", "Canary", "a destructive preset", destructive=True),)


class _ReadOnlyApp(App[None]):
    readonly = True

    def compose(self) -> ComposeResult:
        yield _PresetPane()


async def test_read_only_refuses_destructive_actions_with_arguments() -> None:
    """Textual passes ``check_action`` the bare name ``preset``; the pane declared ``preset('canary')``."""
    app = _ReadOnlyApp()
    async with app.run_test():
        pane = app.query_one(_PresetPane)
        assert pane.check_action("preset", ("canary",)) is False
        assert pane.check_action("other", ()) is True


@pytest.mark.parametrize("pane", ["install", "pods", "namespaces", "traffic", "analysis"])
async def test_q_quit_is_drawn_whole_on_every_pane_at_80x24(cluster: Cluster, pane: str) -> None:
    """Issue 9: at 80 columns the footer once hid "q Quit" behind the palette hint on the Pods pane."""
    app = IstioApp(settings=Settings(), cluster=cluster, info=cluster.info(), initial_pane=pane)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: any(k.key == "q" for k in app.query(FooterKey)), "the footer")
        await pilot.pause()
        quit_key = next(k for k in app.query(FooterKey) if k.key == "q")
        region = quit_key.region
        assert region.width > 0 and region.right <= 80, region
        assert app.screen.get_widget_at(region.right - 1, region.y)[0] is quit_key
