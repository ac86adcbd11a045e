"""ConfirmScreen must answer keys that reach its bindings before it has finished mounting."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

import tui
from tui.screens.confirm import ConfirmScreen


class _Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[bool | None] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    async def ask(self, *keys: str) -> None:
        """Pushes the dialog and runs ``keys`` through the app's bindings without yielding in between, so
        they are handled before the dialog has composed or mounted."""
        self.push_screen(ConfirmScreen("Delete?", ["it goes"], context="sandbox"), self.answers.append)
        for key in keys:
            await self._check_bindings(key)


@pytest.mark.parametrize(("key", "expected"), [("y", True), ("n", False), ("escape", False)])
async def test_key_in_the_same_tick_as_the_push_is_answered(key: str, expected: bool) -> None:
    app = _Host()
    async with app.run_test() as pilot:
        await app.ask(key)
        await pilot.pause()
        await pilot.pause()
        assert app.answers == [expected]
        assert not isinstance(app.screen, ConfirmScreen)
    assert app.return_code in (0, None)


async def test_enter_before_mount_is_harmless_and_then_means_cancel() -> None:
    app = _Host()
    async with app.run_test() as pilot:
        await app.ask("enter")
        await pilot.pause()
        assert app.answers == []
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers == [False]
    assert app.return_code in (0, None)


async def test_mounted_dialog_focuses_cancel_and_answers_once() -> None:
    app = _Host()
    async with app.run_test() as pilot:
        await app.ask()
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "confirm-no"
        dialog = app.screen
        dialog.action_answer(True)
        dialog.action_answer(False)  # a second key queued behind the first must not dismiss twice
        await pilot.pause()
        assert app.answers == [True]
        assert not isinstance(app.screen, ConfirmScreen)
    assert app.return_code in (0, None)


class _StyledHost(_Host):
    CSS_PATH = str(Path(tui.__file__).parent / "app.tcss")


async def test_a_long_body_scrolls_and_the_buttons_stay_on_an_80x24_screen() -> None:
    """A restart of many pods once pushed the title or the buttons off an 80x24 terminal."""
    app = _StyledHost()
    async with app.run_test(size=(80, 24)) as pilot:
        lines = [f"  web-{i:02d}" for i in range(40)]
        app.push_screen(ConfirmScreen("Restart 40 pods?", lines, context="sandbox"), app.answers.append)
        await pilot.pause()
        await pilot.pause()
        for part in ("#confirm-title", "#confirm-context", "#confirm-yes", "#confirm-no"):
            region = app.screen.query_one(part).region
            assert region.height > 0 and region.y >= 0 and region.bottom <= 24, (part, region)
        await pilot.press("y")
        await pilot.pause()
        assert app.answers == [True]


async def test_pending_dialog_ignores_yes_with_a_hint_until_its_body_is_shown() -> None:
    """``y`` typed before the check is done must not confirm what was never on screen, nor be queued."""
    app = _StyledHost()
    async with app.run_test() as pilot:
        dialog = ConfirmScreen("Apply?", ["checking…"], context="sandbox", pending=True)
        app.push_screen(dialog, app.answers.append)
        await app._check_bindings("y")  # before the dialog has mounted
        await pilot.pause()
        assert app.answers == [] and dialog.waiting
        assert dialog.query_one("#confirm-hint", Static).display
        assert dialog.query_one("#confirm-yes").disabled
        await pilot.press("enter")  # the focused Cancel button stays the default
        await pilot.pause()
        assert app.answers == [False]

        dialog = ConfirmScreen("Apply?", ["checking…"], context="sandbox", pending=True)
        app.push_screen(dialog, app.answers.append)
        await pilot.pause()
        dialog.show(["weight: 50"])
        await pilot.pause()
        assert not dialog.waiting and not dialog.query_one("#confirm-hint", Static).display
        assert "weight: 50" in str(dialog.query_one("#confirm-body", Static).render())
        await pilot.press("y")
        await pilot.pause()
        assert app.answers == [False, True]


async def test_pending_dialog_cancelled_ignores_the_late_result_and_refuse_says_no() -> None:
    app = _Host()
    async with app.run_test() as pilot:
        dialog = ConfirmScreen("Apply?", ["checking…"], context="sandbox", pending=True)
        app.push_screen(dialog, app.answers.append)
        await app._check_bindings("n")
        await pilot.pause()
        dialog.show(["late"])
        dialog.refuse()
        await pilot.pause()
        assert app.answers == [False] and not isinstance(app.screen, ConfirmScreen)

        dialog = ConfirmScreen("Apply?", ["checking…"], context="sandbox", pending=True)
        app.push_screen(dialog, app.answers.append)
        dialog.refuse()  # before it mounted
        await pilot.pause()
        assert app.answers == [False, False] and not isinstance(app.screen, ConfirmScreen)


class _Ready(Static):
    """Fills in its dialog from its own mount, i.e. while the dialog itself is still mounting."""

    def on_mount(self) -> None:
        screen = self.screen
        assert isinstance(screen, ConfirmScreen)
        screen.show(["weight: 50"])


class _ShownWhileMounting(ConfirmScreen):
    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield _Ready("")


async def test_a_check_that_ends_while_the_dialog_mounts_still_fills_it_in() -> None:
    """The body must follow ``show`` even when it lands between compose and the dialog's own mount."""
    app = _Host()
    async with app.run_test() as pilot:
        dialog = _ShownWhileMounting("Apply?", ["checking…"], context="sandbox", pending=True)
        app.push_screen(dialog, app.answers.append)
        await pilot.pause()
        await pilot.pause()
        assert not dialog.waiting
        assert "weight: 50" in str(dialog.query_one("#confirm-body", Static).render())
        assert not dialog.query_one("#confirm-yes").disabled
