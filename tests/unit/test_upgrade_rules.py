"""Canary upgrade rules without a cluster: which revision a namespace gets, tags, removal blockers, progress
by revision, the tag webhook's selectors (checked with the sandbox's own injection choice), the flag rules."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tui.errors import ConfigError
from tui.istio.injector import check_webhooks
from tui.istio.revisions import (
    chart_injector,
    control_planes,
    namespace_revision,
    tag_webhook_config,
    tags_of,
)
from tui.istio.upgrade import (
    UpgradeOptions,
    check_options,
    parse_namespaces,
    removal_blockers,
    revision_progress,
)
from tui.sandbox.injection import should_inject


def pod(
    name: str, revision: str | None, *, ns: str = "shop", ready: bool = True, **meta: Any
) -> dict[str, Any]:
    annotations = {}
    if revision is not None:
        annotations["sidecar.istio.io/status"] = json.dumps({"revision": revision})
    containers = [{"name": "app"}] + ([{"name": "istio-proxy"}] if revision else [])
    return {
        "metadata": {"name": name, "namespace": ns, "annotations": annotations, **meta},
        "spec": {"containers": containers},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def tag(name: str, revision: str) -> dict[str, Any]:
    return tag_webhook_config(tag=name, revision=revision, injector=chart_injector(revision))


@pytest.mark.parametrize(
    ("labels", "tags", "expected"),
    [
        ({"istio-injection": "enabled"}, {}, "default"),
        ({"istio-injection": "enabled"}, {"default": "canary"}, "canary"),
        ({"istio-injection": "disabled", "istio.io/rev": "canary"}, {}, None),
        ({"istio.io/rev": "canary"}, {}, "canary"),
        ({"istio.io/rev": "prod"}, {"prod": "1-30"}, "1-30"),
        ({}, {"default": "canary"}, None),
    ],
)
def test_namespace_revision_follows_labels_and_tags(
    labels: dict[str, str], tags: dict[str, str], expected: str | None
) -> None:
    assert namespace_revision(labels, tags) == expected


def test_tags_and_control_planes_table() -> None:
    configs = [tag("default", "canary"), {"metadata": {"name": "istio-sidecar-injector", "labels": {}}}]
    assert tags_of(configs) == {"default": "canary"}
    deployments = [
        {
            "metadata": {"name": name, "labels": {"app": "istiod", **({"istio.io/rev": rev} if rev else {})}},
            "spec": {
                "replicas": 1,
                "template": {"spec": {"containers": [{"image": f"docker.io/istio/pilot:{v}"}]}},
            },
            "status": {"readyReplicas": 1},
        }
        for name, rev, v in (("istiod-canary", "canary", "1.30.4"), ("istiod", "", "1.30.3"))
    ]
    namespaces = [
        {"metadata": {"name": "a", "labels": {"istio-injection": "enabled"}}},
        {"metadata": {"name": "b", "labels": {"istio.io/rev": "default"}}},
    ]
    pods = [pod("p1", "default", ns="a"), pod("p2", "canary", ns="b"), pod("p3", None)]
    planes = control_planes(deployments, configs, namespaces, pods)
    assert [(p.revision, p.version, p.ready, p.tags, p.namespaces, p.pods) for p in planes] == [
        # istio.io/rev=default names the tag too once it exists (istioctl deactivates the old injector)
        ("default", "1.30.3", "1/1", (), (), 1),
        ("canary", "1.30.4", "1/1", ("default",), ("a", "b"), 1),
    ]


def test_removal_is_blocked_by_pods_naming_them() -> None:
    pods = [pod("web-1", "default"), pod("web-2", "canary"), pod("gone", "default", deletionTimestamp="x")]
    assert removal_blockers(pods, "canary") != ""
    line = removal_blockers(pods, "default")
    assert "the proxy of 1 pod in namespace shop: shop/web-1;" in line and "gone" not in line
    assert "move the namespace to another revision" in line
    two = removal_blockers([pod("web-1", "default"), pod("api-1", "default", ns="api")], "default")
    assert "of 2 pods in namespaces api, shop: api/api-1, shop/web-1;" in two
    assert "move the namespaces" in two
    assert removal_blockers([pod("web-2", "canary")], "default") == ""
    gateway = pod("gw", "default", ns="istio-system")
    gateway["metadata"]["annotations"]["inject.istio.io/templates"] = "gateway"
    assert "istio-system/gw" in removal_blockers([gateway], "default")


def test_revision_progress_counts_ready_pods_on_the_revision_and_waits_for_terminating_ones() -> None:
    pods = [
        pod("new-1", "canary"),
        pod("new-2", "canary", ready=False),
        pod("old-1", "default", deletionTimestamp="2026-01-01T00:00:00Z"),
        pod("plain", None),
    ]
    progress = revision_progress("shop", "canary", pods)
    assert (progress.done, progress.total, progress.finished) == (1, 2, False)
    assert progress.stale == ("new-2 (canary)", "old-1 (terminating)")
    assert revision_progress("shop", "canary", pods[:1]).finished


def test_the_default_tag_takes_istio_injection_enabled_and_a_named_tag_its_label() -> None:
    configs = [tag("default", "canary"), tag("prod", "stable")]
    plain = {"metadata": {"labels": {}}}
    chosen = should_inject(plain, {"istio-injection": "enabled"}, configs)
    assert chosen is not None and chosen["metadata"]["labels"]["istio.io/rev"] == "canary"
    chosen = should_inject(plain, {"istio.io/rev": "prod"}, configs)
    assert chosen is not None and chosen["metadata"]["labels"]["istio.io/rev"] == "stable"
    assert should_inject(plain, {"istio-injection": "enabled", "istio.io/rev": "prod"}, configs[1:]) is None


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (UpgradeOptions(), "nothing to do"),
        (UpgradeOptions(revision="default"), "names the running control plane"),
        (UpgradeOptions(revision="a b"), "--revision 'a b' is not a revision name"),
        (UpgradeOptions(namespaces=("shop",), promote="canary"), "--namespaces needs --revision"),
        (UpgradeOptions(revision="canary", remove="canary"), "is the revision this upgrade moves to"),
    ],
)
def test_flag_rules(opts: UpgradeOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_options(opts)


def test_namespaces_are_dns_labels() -> None:
    assert parse_namespaces("a, b,a") == ("a", "b")
    with pytest.raises(ConfigError, match="^--namespaces: 'Shop' is not a namespace name"):
        parse_namespaces("Shop")


def test_cli_bad_input_is_one_line_and_exit_2() -> None:
    cmd = [
        sys.executable,
        "-m",
        "tui",
        "upgrade",
        "--yes",
        "--revision",
        "canary",
        "--chart-source",
        "sandbox",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "only the default revision" in proc.stderr


def test_injection_preflight_counts_a_tag_as_an_injector() -> None:
    """After the old revision is removed only the default tag serves istio-injection=enabled."""
    check = check_webhooks([tag("default", "canary")], {"istio-injection": "enabled"})
    assert check.ok and "istio-revision-tag-default" in check.detail
