"""Uninstall must remove every control plane, including the ``istiod-R`` release a canary upgrade added:
left behind, its webhooks keep injecting a proxy whose istiod is still running (found by QA in the TUI)."""

from __future__ import annotations

from tui import kube
from tui.istio.uninstall import installed_releases
from tui.kube import Cluster


def _helm_release(cluster: Cluster, name: str) -> None:
    """The Secret helm 3 stores a deployed release in (only its labels matter here)."""
    cluster.create(
        kube.SECRETS,
        {
            "metadata": {
                "name": f"sh.helm.release.v1.{name}.v1",
                "labels": {"owner": "helm", "name": name, "status": "deployed", "version": "1"},
            },
            "type": "helm.sh/release.v1",
        },
        namespace="istio-system",
    )


def test_a_canary_revision_release_is_uninstalled_before_the_default_istiod(cluster: Cluster) -> None:
    cluster.create(kube.NAMESPACES, {"metadata": {"name": "istio-system"}})
    for name in ("istio-base", "istiod", "istiod-canary", "istio-ingressgateway", "kiali", "unrelated"):
        _helm_release(cluster, name)
    assert installed_releases(cluster) == [
        "kiali",
        "istio-ingressgateway",
        "istiod-canary",
        "istiod",
        "istio-base",
    ]


def test_only_a_revision_is_left_after_the_default_was_removed(cluster: Cluster) -> None:
    cluster.create(kube.NAMESPACES, {"metadata": {"name": "istio-system"}})
    for name in ("istio-base", "istiod-1-30-3", "istiod-canary"):
        _helm_release(cluster, name)
    assert installed_releases(cluster) == ["istiod-1-30-3", "istiod-canary", "istio-base"]
