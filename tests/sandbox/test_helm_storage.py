"""helm's release storage over the sandbox: protobuf Secret bodies, label-selector LISTs, protobuf deletes."""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Kubectl

HELM = shutil.which("helm") or str(Path(__file__).parents[2] / ".venv" / "bin" / "helm")
pytestmark = pytest.mark.skipif(not Path(HELM).exists(), reason="helm is not installed")

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  replicas: "{{ .Values.replicas }}"
"""


def helm(kubeconfig: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
        "HELM_CACHE_HOME": str(tmp_path / "hc"),
        "HELM_CONFIG_HOME": str(tmp_path / "hcfg"),
        "HELM_DATA_HOME": str(tmp_path / "hd"),
    }
    return subprocess.run([HELM, *args], capture_output=True, text=True, timeout=120, env=env)


def test_install_upgrade_uninstall_round_trip(kubeconfig: Path, kubectl: Kubectl, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicas: 1\n")
    (chart / "templates" / "cm.yaml").write_text(TEMPLATE)

    first = helm(
        kubeconfig, tmp_path, "upgrade", "--install", "r", str(chart), "-n", "hns", "--create-namespace"
    )
    assert first.returncode == 0, first.stderr
    second = helm(
        kubeconfig, tmp_path, "upgrade", "--install", "r", str(chart), "-n", "hns", "--set", "replicas=2"
    )
    assert second.returncode == 0, second.stderr
    assert kubectl("get", "cm", "r-cfg", "-n", "hns", "-o", "jsonpath={.data.replicas}").stdout == "2"

    secrets = json.loads(
        kubectl("get", "secrets", "-n", "hns", "-l", "owner=helm,name=r", "-o", "json").stdout
    )
    by_version = {s["metadata"]["labels"]["version"]: s for s in secrets["items"]}
    assert by_version["1"]["metadata"]["labels"]["status"] == "superseded"
    assert by_version["2"]["metadata"]["labels"]["status"] == "deployed"
    assert by_version["2"]["type"] == "helm.sh/release.v1"
    release = json.loads(
        gzip.decompress(base64.b64decode(base64.b64decode(by_version["2"]["data"]["release"])))
    )
    assert release["name"] == "r" and release["version"] == 2 and release["config"] == {"replicas": 2}

    listing = helm(kubeconfig, tmp_path, "list", "-n", "hns", "-o", "json")
    assert [(r["name"], r["revision"], r["status"]) for r in json.loads(listing.stdout)] == [
        ("r", "2", "deployed")
    ]

    gone = helm(kubeconfig, tmp_path, "uninstall", "r", "-n", "hns")
    assert gone.returncode == 0 and gone.stdout.strip() == 'release "r" uninstalled', gone.stderr
    left = kubectl("get", "secrets,cm", "-n", "hns", "-o", "name").stdout.split()
    assert not [n for n in left if n.startswith("secret/sh.helm") or n == "configmap/r-cfg"]
    again = helm(kubeconfig, tmp_path, "uninstall", "r", "-n", "hns")
    assert again.returncode == 1 and "not found" in again.stderr
