"""Bad input on the command line gets at most three lines, no traceback, a non-zero exit, and changes nothing;
no error path ever prints a credential (issue 8, items 6-8)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import cli_env, closed_port, until
from tui.__main__ import main
from tui.app import IstioApp
from tui.config import Settings
from tui.errors import Unauthorized, redact, register_secret, user_line
from tui.kube import Cluster

TOKEN = "h8a-Secret-Token-0123456789abcdef"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real kubeconfig, settings or state of the machine leak into a case."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("KUBECONFIG", "ISTIO_TUI_KUBECONFIG", "ISTIO_TUI_CONTEXT", "ISTIO_TUI_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_one_clear_refusal(code: int, output: str, expected: str) -> None:
    assert code != 0, output
    assert "Traceback" not in output, output
    assert 1 <= len(output.splitlines()) <= 3, output
    assert expected in output, output


def _nested_lists(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def _nested_maps(depth: int) -> str:
    return "a:\n" + "".join("  " * i + "k:\n" for i in range(1, depth))


def _kubeconfig(server: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


# ------------------------------------------------------------------------------------- item 8: one line


@pytest.mark.parametrize("body", [_nested_lists(5000), _nested_maps(5000)], ids=["lists", "maps"])
@pytest.mark.parametrize("command", [[], ["install", "--yes"]], ids=["tui", "install"])
def test_deeply_nested_kubeconfig(
    isolated: Path, capsys: pytest.CaptureFixture[str], body: str, command: list[str]
) -> None:
    deep = isolated / "deep.yaml"
    deep.write_text(body)
    code, output = _run(capsys, "--kubeconfig", str(deep), *command)
    _assert_one_clear_refusal(code, output, "nested more than 100 levels deep")


def _alias_bomb_kubeconfig(levels: int) -> str:
    """A valid kubeconfig whose cluster extension holds 9**levels leaves, written in a few hundred bytes."""
    bomb = ["        l0: &l0 [a,a,a,a,a,a,a,a,a]"]
    bomb += [f"        l{n}: &l{n} [{','.join(f'*l{n - 1}' for _ in range(9))}]" for n in range(1, levels)]
    head = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
    head += "    extensions:\n    - name: x\n      extension:\n"
    tail = "users:\n- {name: u, user: {token: x}}\ncontexts:\n- {name: ctx, context: {cluster: c, user: u}}\n"
    return head + "\n".join(bomb) + "\n" + tail + "current-context: ctx\n"


# A fresh, small interpreter starts the command and reports its peak RSS. Measured straight from a test
# process, ru_maxrss would include the pytest worker's own memory: a child inherits its parent's high-water
# mark across fork and exec.
_PEAK_RSS = """
import resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(f"{code} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


@pytest.mark.parametrize("command", [[], ["install", "--yes"]], ids=["tui", "install"])
def test_kubeconfig_alias_bomb_is_one_line_and_small(tmp_path: Path, command: list[str]) -> None:
    """Before the fix the kubeconfig loader expanded the aliases: a MemoryError past 1.5 GB."""
    kubeconfig = tmp_path / "bomb.yaml"
    kubeconfig.write_text(_alias_bomb_kubeconfig(9))
    assert kubeconfig.stat().st_size < 1000
    report = tmp_path / "peak"
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(report),
         sys.executable, "-m", "tui", "--kubeconfig", str(kubeconfig), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(tmp_path),
        timeout=120,
    )
    code, peak_kib = (int(field) for field in report.read_text().split())
    expected = f"kubeconfig {kubeconfig}: document contains excessive aliasing"
    _assert_one_clear_refusal(code, proc.stdout, expected)
    assert peak_kib < 300 * 1024, peak_kib


def test_deeply_nested_config_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = isolated / "cfg" / "istio-tui" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(_nested_lists(5000))
    code, output = _run(capsys, "--kubeconfig", "/nonexistent")
    _assert_one_clear_refusal(code, output, f"config file {config}: nested more than 100 levels deep")


def test_duplicate_config_key_is_named(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = isolated / "cfg" / "istio-tui" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("readonly: true\nnamespace: demo\nreadonly: false\n")
    code, output = _run(capsys, "--kubeconfig", "/nonexistent")
    _assert_one_clear_refusal(code, output, "duplicate key 'readonly' at line 3")


def test_duplicate_key_in_a_kubeconfig_is_named(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = isolated / "dup.yaml"
    kubeconfig.write_text(
        yaml.safe_dump(_kubeconfig("https://127.0.0.1:1", {"token": "x"}))
        + "current-context: other\n"
    )
    code, output = _run(capsys, "--kubeconfig", str(kubeconfig))
    _assert_one_clear_refusal(code, output, "duplicate key 'current-context'")


def test_yaml_merge_keys_are_not_duplicates(isolated: Path) -> None:
    from tui.config import read_yaml_file

    path = isolated / "merge.yaml"
    path.write_text("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n")
    assert read_yaml_file(path, what="file", hint="") == {"base": {"x": 1}, "item": {"x": 1, "y": 2}}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["http://[::1/"], "is not a valid URL"),
        (["http://[zz]:80/"], "is not a valid URL"),
        (["http://127.0.0.1:99999/"], "is not a valid URL"),
        (["http://127.0.0.1:8080/\nx"], "contains a control character"),
        (["http://user:pw@127.0.0.1/"], "must not carry a user name or password"),
        (["http://127.0.0.1/<script>"], "contains '<', which a URL cannot hold"),
        (["http://127.0.0.1:1/", "--timeout", "nan"], "must be a positive number of seconds, got 'nan'"),
        (["http://127.0.0.1:1/", "--timeout", "-5"], "must be a positive number of seconds, got '-5'"),
        (["http://127.0.0.1:1/", "--duration", "inf"], "must be a positive number of seconds, got 'inf'"),
        (["http://127.0.0.1:1/", "--rate", "nan"], "must be 0 (as fast as possible) or more"),
        (["http://127.0.0.1:1/", "--workers", "-1"], "must be 0 or more"),
    ],
)
def test_traffic_bad_input(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    code, output = _run(capsys, "traffic", *args)
    _assert_one_clear_refusal(code, output, expected)
    assert code == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--timeout", "nan"], "must be a positive number of seconds, got 'nan'"),
        (["--timeout", "-5"], "must be a positive number of seconds, got '-5'"),
        (["--chart-source", "https://mirror.example/my charts"], "contains a space"),
        (["--chart-source", "https://x\ntouch /tmp/PWNED\n"], "contains a control character"),
        (["--chart-source", "/tmp/a dir"], "contains a space"),
        (["--chart-source", "https://m.example/c`touch${IFS}x`"], "contains '`', which a URL cannot hold"),
        (["--sampling", "nan", "--tracing"], "is outside 0-100"),
        (["--node-port-http2", "3e4", "--ingress-type", "NodePort"], "node"),
    ],
)
def test_install_bad_input_writes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    out = isolated / "plan"
    code, output = _run(capsys, "install", "--plan-only", "--out", str(out), *args)
    _assert_one_clear_refusal(code, output, expected)
    assert not out.exists()


def test_install_out_with_a_line_break(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(capsys, "install", "--plan-only", "--out", str(isolated / "p\nwrote /etc/passwd"))
    _assert_one_clear_refusal(code, output, "--out")
    assert list(isolated.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--context", "prod\nistio-tui: all good"], "context 'prod\\nistio-tui: all good' is not in"),
        (["--namespace", "Bad NS"], "is not a valid namespace name"),
        (["--kubeconfig", "/no/such\x1b[2Jfile"], "\\x1b[2Jfile does not exist"),
    ],
)
def test_global_flags_with_control_characters_stay_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    kubeconfig = isolated / "kc.yaml"
    kubeconfig.write_text(yaml.safe_dump(_kubeconfig("https://127.0.0.1:1", {"token": "x"})))
    code, output = _run(capsys, "--kubeconfig", str(kubeconfig), *args)
    _assert_one_clear_refusal(code, output, expected)
    assert "\x1b" not in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "nan"], "is not a TCP port"),
        (["--port", "-5"], "is not a TCP port"),
        (["--port", "70000"], "is not a TCP port"),
        (["--kubelet-version", "v1.32.0\n"], "is not a version"),
        (["--port", "\u0663"], "is not a TCP port"),  # ARABIC-INDIC DIGIT THREE: isdigit() alone says yes
        (["--state", "/tmp/state\nx"], "--state '/tmp/state\\nx' contains a control character"),
    ],
)
def test_sandbox_serve_bad_input(
    isolated: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    kubeconfig = isolated / "sb.kubeconfig"
    code, output = _run(capsys, "sandbox", "serve", "--kubeconfig", str(kubeconfig), *args)
    _assert_one_clear_refusal(code, output, expected)
    assert not kubeconfig.exists()


def test_sandbox_kubeconfig_with_a_line_break(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(capsys, "sandbox", "serve", "--kubeconfig", str(isolated / "k\nKubeconfig: /etc/x"))
    _assert_one_clear_refusal(code, output, "contains a control character")
    assert list(isolated.iterdir()) == []


# ------------------------------------------------------------------------------- item 6: no credential


class _EchoingServer(ThreadingHTTPServer):
    """A hostile or buggy API server: every error it sends quotes the Authorization header it received."""

    daemon_threads = True
    status = 401


class _EchoHandler(BaseHTTPRequestHandler):
    server: _EchoingServer

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        code = self.server.status
        message = f"token rejected: {self.headers.get('Authorization')}"
        body = json.dumps({"kind": "Status", "code": code, "reason": "Unauthorized", "message": message})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def echoing_server() -> Iterator[_EchoingServer]:
    server = _EchoingServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()



def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=60,
        check=False,
    )


def test_the_token_never_appears_in_any_error_output(tmp_path: Path, echoing_server: _EchoingServer) -> None:
    """The token file ends in a newline (as `echo` writes it). Before the fix the request failed inside
    http.client and the traceback showed the token; servers that quote it back must not leak it either."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    bad_token_file = tmp_path / "bad-token"
    bad_token_file.write_text(f"{TOKEN}\nmore\n")
    echo = f"http://127.0.0.1:{echoing_server.server_address[1]}"
    configs = {
        "echo-401": _kubeconfig(echo, {"tokenFile": str(token_file)}),
        "refused": _kubeconfig(f"https://127.0.0.1:{closed_port()}", {"tokenFile": str(token_file)}),
        "inline-token-401": _kubeconfig(echo, {"token": TOKEN + "\n"}),
        "newline-inside": _kubeconfig(echo, {"tokenFile": str(bad_token_file)}),
    }
    outputs: dict[str, str] = {}
    for name, doc in configs.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        for command in ([], ["install", "--yes", "--chart-source", "sandbox", "--timeout", "5"]):
            proc = _cli(tmp_path, "--kubeconfig", str(path), *command)
            output = proc.stdout + proc.stderr
            outputs[f"{name} {command[:1]}"] = output
            assert proc.returncode != 0, output
            assert "Traceback" not in output, output
            assert TOKEN not in output, output
    assert "Unauthorized" in outputs["echo-401 []"] or "token rejected" in outputs["echo-401 []"]
    assert "<redacted>" in outputs["echo-401 []"]
    assert "connection refused" in outputs["refused []"]
    assert "control characters inside" in outputs["newline-inside []"]
    echoing_server.status = 500
    proc = _cli(tmp_path, "--kubeconfig", str(tmp_path / "echo-401.yaml"))
    assert proc.returncode == 1 and TOKEN not in proc.stdout + proc.stderr
    assert "<redacted>" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_redaction_covers_registered_secrets_and_auth_headers() -> None:
    register_secret("registered-secret-value")
    text = "a registered-secret-value b Authorization: Bearer abc.def-ghi c"
    assert redact(text) == "a <redacted> b Authorization: Bearer <redacted> c"
    prose = "basic authentication failed: the bearer token expired"
    assert redact(prose) == prose
    assert user_line("line one\nline two\x1b[2J") == "line one\\nline two\\x1b[2J"


async def test_app_notifications_never_show_a_token(cluster: Cluster) -> None:
    register_secret(TOKEN)
    app = IstioApp(settings=Settings(), cluster=cluster, info=cluster.info(), sandbox_kubeconfig=None)
    async with app.run_test(size=(120, 36)) as pilot:
        app.report_error(Unauthorized(f"server said: bad token {TOKEN}"), "refresh")
        app.notify(f"raw text with Bearer {TOKEN}")
        app.report_error(ValueError(f"Invalid header value b'Bearer {TOKEN}\\n'"), "describe")
        await until(pilot, lambda: len(app._notifications) >= 3, "three notifications")
        shown = [f"{n.title} {n.message}" for n in app._notifications]
        assert all(TOKEN not in text for text in shown), shown
        assert all("<redacted>" in text for text in shown), shown


def test_traffic_in_cluster_refuses_the_tui_sandbox_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Found in QA: it said the kubeconfig was missing "... or use --sandbox" though --sandbox was given."""
    argv = ["--sandbox", "traffic", "http://127.0.0.1:1/productpage", "--in-cluster", "2", "--requests", "4"]
    code, output = _run(capsys, *argv)
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith("istio-tui traffic: --sandbox only serves the TUI"), output
    assert "kubeconfig" in output and "or use --sandbox" not in output, output
