"""``--version`` and ``--help`` answer before any subcommand's module (and textual or kubernetes) loads,
and one subcommand loads only its own module; every subcommand's own ``--help`` still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_env
from tui import __version__
from tui.__main__ import COMMANDS, main

HEAVY = ("textual", "kubernetes", "httpx", "yaml", "tui.kube", "tui.istio", "tui.sandbox", "tui.traffic")


# sys.modules when the command exits (importtime misses modules loaded by importlib.import_module)
_PROBE = """
import atexit, runpy, sys
listing = sys.argv[1]
def dump():
    with open(listing, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(dump)
sys.argv = ["istio-tui", *sys.argv[2:]]
runpy.run_module("tui", run_name="__main__", alter_sys=True)
"""


def _imports(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -m tui ARGS``; the modules loaded by the time it exits."""
    listing = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(listing), *args],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    return proc, set(listing.read_text().split())


def _heavy(modules: set[str], *, allowed: str = "") -> list[str]:
    return sorted(
        m for m in modules
        if any(m == h or m.startswith(h + ".") for h in HEAVY) and not (allowed and m.startswith(allowed))
    )


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_subcommand(tmp_path: Path, flag: str) -> None:
    proc, modules = _imports(tmp_path, flag)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tui.errors" in modules  # the importtime lines were read
    assert _heavy(modules) == []
    if flag == "--version":
        assert proc.stdout == f"istio-tui {__version__}\n"
    else:
        for name, (_module, help_line) in COMMANDS.items():
            assert name in proc.stdout
            assert " ".join(help_line.split()[:3]) in " ".join(proc.stdout.split())


def test_a_subcommand_imports_only_its_own_module(tmp_path: Path) -> None:
    proc, modules = _imports(tmp_path, "traffic", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tui.traffic.cli" in modules
    assert _heavy(modules, allowed="tui.traffic") == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_has_its_own_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: istio-tui {name} ")
    assert "-h, --help" in out


def test_global_flags_before_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """A global flag's value is not taken for the command, however it is spelled."""
    for argv in (["--context", "traffic", "traffic"], ["--kubec", "x", "traffic"], ["-nx", "traffic"]):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--bogus-flag"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "URL" in err or "--bogus-flag" in err, err


def test_a_command_that_cannot_load_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken install (a dependency missing) must not print a traceback."""
    monkeypatch.setitem(COMMANDS, "traffic", ("tui.no_such_module", "stand-in"))
    with pytest.raises(SystemExit) as exited:
        main(["traffic", "http://127.0.0.1:1/"])
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("istio-tui traffic: cannot load this command: No module named 'tui.no_such_module'")
