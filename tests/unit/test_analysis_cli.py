"""``istio-tui analyze``: exit codes and one-line errors for bad flags and unreachable clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.__main__ import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["analyze", "--bogus"], "unrecognized arguments: --bogus"),
        (["analyze", "-n", "a", "-A"], "not allowed with argument"),
        (["analyze", "-n"], "expected one argument"),
        (["analyze", "-n", " "], "-n needs a namespace name"),
        (["analyze", "-n", "Bad_NS"], "-n: 'Bad_NS' is not a valid namespace name"),  # was "no findings"
    ],
)
def test_bad_flags_get_one_line_and_exit_1(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str], kubeconfig: Path
) -> None:
    try:
        code = main(["--kubeconfig", str(kubeconfig), *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 1
    assert expected in err and len(err.strip().splitlines()) == 1


def test_sandbox_flag_points_at_sandbox_serve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "analyze"]) == 1
    assert "sandbox serve --kubeconfig FILE" in capsys.readouterr().err


def test_unreachable_cluster_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--kubeconfig", str(tmp_path / "missing"), "analyze"]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1


def test_clean_cluster_exits_0_with_an_empty_json_list(
    kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--kubeconfig", str(kubeconfig), "analyze", "-A", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--kubeconfig", str(kubeconfig), "analyze", "-n", "default"]) == 0
    assert capsys.readouterr().out.strip() == "no findings in namespace default"
