"""An embedded sandbox never writes to the terminal's stderr (it would tear the Textual screen). Checked in a
fresh interpreter, because pytest's own log handlers would hide Python's last-resort stderr handler here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_EMBEDDED = """
import logging, ssl, urllib.request
from tui.sandbox.cluster import Sandbox

sb = Sandbox(port=0, seed=0, pod_start_seconds=0.05).start()
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
req = urllib.request.Request(sb.url + "/api/v1/namespaces", headers={"Authorization": "Bearer " + sb.token})
with urllib.request.urlopen(req, context=ctx) as resp:
    assert resp.status == 200
logging.getLogger("tui.sandbox.dataplane").warning("cannot listen on 127.0.0.1:30080")
logging.getLogger("aiohttp.server").error("Error handling request")
sb.stop()
print("ok")
"""


def test_embedded_sandbox_writes_nothing_to_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _EMBEDDED], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
    assert proc.stderr == ""
