"""Polling helpers and app builders shared by the test layers (deadline-bound, never sleep-as-sync)."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
from textual.widget import Widget
from textual.widgets import OptionList

from tui.app import IstioApp
from tui.config import Settings
from tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from tui.kube import Cluster
    from tui.sandbox.cluster import Sandbox

T = TypeVar("T")
W = TypeVar("W", bound=Widget)
ROOT = Path(__file__).resolve().parents[1]

# The preflight lines in the order the wizard shows them.
PREFLIGHT_KEYS = [
    "context",
    "admission-api",
    "permissions",
    "existing-istio",
    "load-balancer",
    "gateway-api",
    "helm",
]


def wait_for(check: Callable[[], T | None], what: str = "condition", *, timeout: float = 15.0) -> T:
    """Poll ``check`` until it returns something truthy and return it; fail naming ``what`` at deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


async def until(
    pilot: Pilot[Any],
    check: Callable[[], object],
    what: str,
    limit: float = 20.0,
) -> None:
    """Poll ``check`` while the app keeps running; fail naming ``what``, the notifications and workers."""
    deadline = time.monotonic() + limit
    seen = len(NOTES_SEEN)
    while not check():
        if time.monotonic() > deadline:
            notes = "; ".join(NOTES_SEEN[seen:] or [n.message for n in pilot.app._notifications])
            raise AssertionError(
                f"timed out waiting for {what} (notifications: {notes}; workers: {list(pilot.app.workers)})"
            )
        await pilot.pause(0.05)


async def open_install_step(pilot: Pilot[Any], key: str, step: type[W]) -> W:
    """The install pane's step ``key``, opened as a user does: the step list focused, its number pressed."""
    pilot.app.query_one("#wiz-steps", OptionList).focus()
    await pilot.press(key)
    return pilot.app.query_one(step)


def make_app(cluster: Cluster, *, pane: str, readonly: bool = False, sandbox: bool = False) -> IstioApp:
    """The app against ``cluster`` opened on ``pane``; ``sandbox`` as if launched with ``--sandbox``."""
    app = IstioApp(
        settings=Settings(readonly=readonly, sandbox=sandbox),
        cluster=cluster,
        info=cluster.info(),
        initial_pane=pane,
    )
    app.notify = _remembering(app.notify)  # type: ignore[method-assign]
    return app


NOTES_SEEN: list[str] = []


def _remembering(notify: Callable[..., None]) -> Callable[..., None]:
    """Notifications expire after a few seconds; a timed-out ``until`` names every one posted since."""

    def remember(message: str, *args: Any, **kwargs: Any) -> None:
        NOTES_SEEN.append(str(message))
        notify(message, *args, **kwargs)

    return remember


def sandbox_client(sb: Sandbox, token: str | None = None) -> httpx.Client:
    """HTTPS client trusting the sandbox CA; ``token`` None sends the sandbox's own, "" sends none."""
    ctx = ssl.create_default_context(cadata=sb.ca_pem.decode())
    headers = {"Authorization": f"Bearer {sb.token if token is None else token}"} if token != "" else {}
    return httpx.Client(base_url=sb.url, verify=ctx, headers=headers, timeout=10)


def deployment_manifest(name: str, replicas: int) -> dict[str, Any]:
    """A minimal Deployment whose pods carry ``app=<name>``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": f"example/{name}:1"}]},
            },
        },
    }


def istio_crd(kind: str, plural: str) -> dict[str, Any]:
    """A schemaless ``networking.istio.io/v1`` CRD, enough to serve the kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.networking.istio.io"},
        "spec": {
            "group": "networking.istio.io",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for ``python -m tui`` in a subprocess: this checkout, and no settings, state or kubeconfig
    of the machine (HOME and the XDG directories point into ``home``)."""
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "XDG_STATE_HOME": str(home / "state"),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def confirm_shown(app: IstioApp) -> bool:
    """A ConfirmScreen is open with its body filled in (a pending one shows it once its check is done)."""
    screen = app.screen
    return isinstance(screen, ConfirmScreen) and not screen.waiting


def hold(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> threading.Event:
    """``owner.name`` waits for the returned event (20 s at most), so a test decides when the cluster has
    answered, e.g. to type keys while a check is still running."""
    release = threading.Event()
    real = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    return release


def worker_running(app: IstioApp, description: str) -> bool:
    return any(w.description == description and not w.is_finished for w in app.workers)
