"""Injection rules: modes, pod opt-in/out, both sidecar forms, label plans, conflicts, selectors, restarts."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import pytest

from tests.helpers import deployment_manifest, wait_for
from tui import kube
from tui.istio import injection as inj
from tui.istio import injector, restarts
from tui.istio import namespace_index as nsi
from tui.istio.injection import InjectionMode, ModeKind
from tui.istio.sidecar import has_sidecar, is_proxy_workload
from tui.kube import Cluster

INJECT = "sidecar.istio.io/inject"


def pod(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    sidecar: str = "",
    owner: tuple[str, str] | None = ("ReplicaSet", "web-5d4f"),
    phase: str = "Running",
    ready: bool = True,
    deleting: bool = False,
) -> dict[str, Any]:
    """A pod as the API returns it; ``sidecar`` is "", "classic" or "native"."""
    containers: list[dict[str, Any]] = [{"name": "app", "image": "app:1"}]
    init: list[dict[str, Any]] = []
    state = {"running": {}} if ready else {"waiting": {"reason": "ContainerCreating"}}
    statuses = [{"name": "app", "ready": ready, "state": state}]
    init_statuses: list[dict[str, Any]] = []
    if sidecar == "classic":
        containers.append({"name": "istio-proxy", "image": "proxyv2"})
        statuses.append({"name": "istio-proxy", "ready": ready, "state": state})
    elif sidecar == "native":
        init.append({"name": "istio-proxy", "image": "proxyv2", "restartPolicy": "Always"})
        init_statuses.append({"name": "istio-proxy", "ready": ready, "started": ready, "state": state})
    meta: dict[str, Any] = {"name": name, "namespace": "demo", "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec: dict[str, Any] = {"containers": containers}
    if init:
        spec["initContainers"] = init
    status: dict[str, Any] = {"phase": phase, "containerStatuses": statuses}
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return {"metadata": meta, "spec": spec, "status": status}


def rs(name: str, deployment: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deployment:
        meta["ownerReferences"] = [{"kind": "Deployment", "name": deployment, "controller": True}]
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("labels", "kind", "label"),
    [
        ({"istio-injection": "enabled"}, ModeKind.ENABLED, "istio-injection=enabled"),
        ({"istio-injection": "disabled"}, ModeKind.DISABLED, "istio-injection=disabled"),
        ({"istio-injection": "yes"}, ModeKind.DISABLED, "istio-injection=disabled"),
        ({"istio.io/rev": "1-24"}, ModeKind.REVISION, "istio.io/rev=1-24"),
        ({"istio.io/dataplane-mode": "ambient"}, ModeKind.AMBIENT, "ambient"),
        ({"istio.io/dataplane-mode": "none"}, ModeKind.NONE, "none"),
        ({"team": "a"}, ModeKind.NONE, "none"),
        (None, ModeKind.NONE, "none"),
        ({"istio-injection": "enabled", "istio.io/rev": "x"}, ModeKind.ENABLED, "istio-injection=enabled"),
    ],
)
def test_namespace_mode(labels: dict[str, str] | None, kind: ModeKind, label: str) -> None:
    mode = inj.namespace_mode(labels)
    assert mode.kind is kind
    assert mode.label == label


@pytest.mark.parametrize(
    ("ns", "pod_labels", "annotations", "expected"),
    [
        ({"istio-injection": "enabled"}, {}, None, True),
        ({"istio-injection": "enabled"}, {"sidecar.istio.io/inject": "false"}, None, False),
        ({"istio-injection": "enabled"}, {}, {"sidecar.istio.io/inject": "false"}, False),
        ({"istio-injection": "disabled"}, {"sidecar.istio.io/inject": "true"}, None, False),
        ({"istio.io/rev": "canary"}, {}, None, True),
        ({"istio.io/rev": "canary"}, {"sidecar.istio.io/inject": "false"}, None, False),
        ({}, {}, None, False),
        ({}, {"sidecar.istio.io/inject": "true"}, None, True),
        ({}, {}, {"sidecar.istio.io/inject": "true"}, True),
        ({}, {"istio.io/rev": "canary"}, None, True),
        # istiod itself carries istio.io/rev but opts out.
        ({}, {"istio.io/rev": "default", "sidecar.istio.io/inject": "false"}, None, False),
        ({"istio.io/dataplane-mode": "ambient"}, {}, None, False),
        ({"istio-injection": "enabled", "kubernetes.io/metadata.name": "kube-system"}, {}, None, False),
        # The label wins over the older annotation, as in Istio.
        ({"istio-injection": "enabled"}, {INJECT: "true"}, {INJECT: "false"}, True),
    ],
)
def test_wants_injection(
    ns: dict[str, str], pod_labels: dict[str, str], annotations: dict[str, str] | None, expected: bool
) -> None:
    assert inj.wants_injection(ns, pod_labels, annotations) is expected


def test_has_sidecar_both_forms() -> None:
    assert has_sidecar(pod("a", sidecar="classic"))
    assert has_sidecar(pod("a", sidecar="native"))
    assert not has_sidecar(pod("a"))
    # An ordinary init container named istio-proxy (no restartPolicy Always) is not a running sidecar.
    plain_init = pod("a")
    plain_init["spec"]["initContainers"] = [{"name": "istio-proxy", "image": "proxyv2"}]
    assert not has_sidecar(plain_init)
    assert not has_sidecar({})


def test_enable_plan_is_a_merge_patch_of_one_label() -> None:
    plan = inj.plan_change("demo", {"team": "a"}, InjectionMode.enabled())
    assert plan.patch() == {"metadata": {"labels": {"istio-injection": "enabled"}}}
    assert plan.describe() == ["set label istio-injection=enabled"]
    assert plan.labels_after == {"team": "a", "istio-injection": "enabled"}
    assert plan.needs_restart
    assert plan.current.kind is ModeKind.NONE


def test_disable_plan_sets_disabled_and_drops_revision() -> None:
    plan = inj.plan_change("demo", {"istio.io/rev": "canary", "team": "a"}, InjectionMode.disabled())
    assert plan.patch() == {"metadata": {"labels": {"istio-injection": "disabled", "istio.io/rev": None}}}
    assert plan.describe() == [
        "set label istio-injection=disabled",
        "remove label istio.io/rev (currently canary)",
    ]
    assert plan.labels_after == {"team": "a", "istio-injection": "disabled"}
    assert plan.needs_restart


def test_revision_plan_replaces_injection_label() -> None:
    plan = inj.plan_change("demo", {"istio-injection": "enabled"}, InjectionMode.for_revision("1-24"))
    assert plan.patch() == {"metadata": {"labels": {"istio.io/rev": "1-24", "istio-injection": None}}}
    # Pods keep a sidecar either way; only the control plane behind it changes, and the plan says so.
    assert not plan.needs_restart
    assert "control plane" in " ".join(plan.notes)


def test_ambient_plan_needs_no_restart_and_warns_about_waypoints() -> None:
    plan = inj.plan_change("demo", {"istio-injection": "enabled"}, InjectionMode.ambient())
    assert plan.patch() == {
        "metadata": {"labels": {"istio.io/dataplane-mode": "ambient", "istio-injection": None}}
    }
    assert plan.needs_restart  # the sidecars go only when their pods are recreated: the restart is offered
    notes = " ".join(plan.notes)
    assert "no restart" in notes
    assert "waypoint" in notes
    assert "keep it and stay outside ambient until restarted" in notes
    assert not inj.plan_change("demo", {}, InjectionMode.ambient()).needs_restart


def test_noop_plan() -> None:
    plan = inj.plan_change("demo", {"istio-injection": "enabled"}, InjectionMode.enabled())
    assert plan.is_noop
    assert not plan.needs_restart
    assert plan.patch() == {"metadata": {"labels": {}}}


@pytest.mark.parametrize("rev", ["", "-x", "a b", "x" * 64, "rév"])
def test_bad_revision_is_refused(rev: str) -> None:
    with pytest.raises(ValueError, match="invalid revision"):
        inj.plan_change("demo", {}, InjectionMode.for_revision(rev))


def test_toggle_target() -> None:
    assert inj.toggle_target({"istio-injection": "enabled"}).kind is ModeKind.DISABLED
    assert inj.toggle_target({"istio.io/rev": "x"}).kind is ModeKind.DISABLED
    assert inj.toggle_target({"istio-injection": "disabled"}).kind is ModeKind.ENABLED
    assert inj.toggle_target({"istio.io/dataplane-mode": "ambient"}).kind is ModeKind.ENABLED
    assert inj.toggle_target({}).kind is ModeKind.ENABLED


def test_conflict_and_both_resolutions() -> None:
    labels = {"istio-injection": "enabled", "istio.io/rev": "canary", "team": "a"}
    conflict = inj.find_conflict("demo", labels)
    assert conflict is not None
    assert "istio-injection=enabled" in conflict.describe()
    assert "istio.io/rev=canary" in conflict.describe()
    keep_rev = conflict.keep_revision(labels)
    assert keep_rev.patch() == {"metadata": {"labels": {"istio-injection": None}}}
    assert keep_rev.labels_after == {"istio.io/rev": "canary", "team": "a"}
    keep_inj = conflict.keep_injection(labels)
    assert keep_inj.patch() == {"metadata": {"labels": {"istio.io/rev": None}}}
    assert keep_inj.labels_after == {"istio-injection": "enabled", "team": "a"}
    assert inj.find_conflict("demo", {"istio-injection": "enabled"}) is None
    assert inj.find_conflict("demo", {"istio.io/rev": "canary"}) is None


def istio_injector(name: str = "istio-sidecar-injector", revision: str = "default") -> dict[str, Any]:
    """The shape of the webhooks istiod's chart installs (default revision with the default tag)."""
    rules = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
    not_false = {"matchExpressions": [{"key": INJECT, "operator": "NotIn", "values": ["false"]}]}
    return {
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": "rev.namespace.sidecar-injector.istio.io",
                "rules": rules,
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "istio.io/rev", "operator": "In", "values": [revision]},
                        {"key": "istio-injection", "operator": "DoesNotExist"},
                    ]
                },
                "objectSelector": not_false,
            },
            {
                "name": "namespace.sidecar-injector.istio.io",
                "rules": rules,
                "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
                "objectSelector": not_false,
            },
            {
                "name": "object.sidecar-injector.istio.io",
                "rules": rules,
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "istio-injection", "operator": "DoesNotExist"},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
                "objectSelector": {
                    "matchExpressions": [{"key": INJECT, "operator": "In", "values": ["true"]}]
                },
            },
        ],
    }


def test_webhook_check_passes_for_enabled_and_the_installed_revision() -> None:
    hooks = [istio_injector()]
    assert injector.check_webhooks(hooks, {"istio-injection": "enabled"}).ok
    assert injector.check_webhooks(hooks, {"istio.io/rev": "default"}).ok


def test_webhook_check_explains_a_missing_revision() -> None:
    check = injector.check_webhooks([istio_injector()], {"istio.io/rev": "canary"})
    assert not check.ok
    assert "istio.io/rev=canary" in check.detail
    assert "istio.io/rev In [default]" in check.detail


def test_webhook_check_object_webhook_alone_does_not_count() -> None:
    # With no labels only the object webhook matches, and only pods that opt in reach it.
    assert not injector.check_webhooks([istio_injector()], {}).ok


def test_webhook_check_without_injector() -> None:
    check = injector.check_webhooks([{"metadata": {"name": "cert-manager-webhook"}, "webhooks": []}], {})
    assert not check.ok
    assert "no istio-sidecar-injector MutatingWebhookConfiguration" in check.detail


def test_webhook_check_ignores_hooks_that_do_not_see_pod_creation() -> None:
    hook = istio_injector()
    for w in hook["webhooks"]:
        w["rules"] = [{"operations": ["UPDATE"], "resources": ["pods"]}]
    assert not injector.check_webhooks([hook], {"istio-injection": "enabled"}).ok


def test_plan_restart_after_enabling() -> None:
    pods = [
        pod("web-5d4f-a"),
        pod("web-5d4f-b", sidecar="classic"),
        pod("api-77-a", owner=("ReplicaSet", "api-77"), sidecar="native"),
        pod("db-0", owner=("StatefulSet", "db")),
        pod("bare", owner=None),
        pod("optout", labels={"sidecar.istio.io/inject": "false"}),
        pod("old", deleting=True),
        pod("job-x", owner=("ReplicaSet", "orphan-rs"), phase="Succeeded"),
    ]
    rss = [rs("web-5d4f", "web"), rs("api-77", "api")]
    plan = restarts.plan_restart("demo", {"istio-injection": "enabled"}, pods, rss)
    assert [p.name for p in plan.pods] == ["bare", "db-0", "web-5d4f-a"]
    assert plan.deployments == ("web",)
    assert {p.owner for p in plan.others} == {"Pod", "StatefulSet/db"}
    assert all(p.wants_sidecar and not p.has_sidecar for p in plan.pods)


def test_plan_restart_after_disabling_is_the_reverse() -> None:
    pods = [
        pod("web-5d4f-a", sidecar="classic"),
        pod("web-5d4f-b"),
        pod("api-77-a", owner=("ReplicaSet", "api-77")),
    ]
    plan = restarts.plan_restart(
        "demo", {"istio-injection": "disabled"}, pods, [rs("web-5d4f", "web"), rs("api-77", "api")]
    )
    assert [p.name for p in plan.pods] == ["web-5d4f-a"]
    assert plan.deployments == ("web",)
    assert not plan.pods[0].wants_sidecar


def test_restart_progress() -> None:
    rss = {"web-new": rs("web-new", "web"), "web-5d4f": rs("web-5d4f", "web")}
    ns = {"istio-injection": "enabled"}
    mid = [
        pod("web-5d4f-a", deleting=True),
        pod("web-new-a", owner=("ReplicaSet", "web-new"), sidecar="native"),
        pod("web-new-b", owner=("ReplicaSet", "web-new"), sidecar="classic", phase="Pending", ready=False),
        pod("other", owner=("ReplicaSet", "nope")),
    ]
    progress = restarts.restart_progress(ns, mid, rss, ["web"])
    assert (progress.done, progress.total) == (1, 2)
    assert progress.pending == ("web-5d4f-a", "web-new-b")
    steps = {p.name: p for p in progress.pods}
    assert steps["web-5d4f-a"].terminating
    new_a = steps["web-new-a"]
    assert (new_a.ready, new_a.containers, new_a.sidecar) == (2, 2, True)
    assert not steps["web-new-b"].done
    assert "other" not in steps
    assert not progress.finished
    end = [
        pod("web-new-a", owner=("ReplicaSet", "web-new"), sidecar="native"),
        pod("web-new-b", owner=("ReplicaSet", "web-new"), sidecar="classic"),
    ]
    assert restarts.restart_progress(ns, end, rss, ["web"]).finished
    assert not restarts.restart_progress(ns, [], rss, ["web"]).finished


def test_namespace_row_counts() -> None:
    ns = {
        "metadata": {
            "name": "demo",
            "uid": "u1",
            "labels": {"istio-injection": "enabled", "istio.io/rev": "x"},
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "status": {"phase": "Active"},
    }
    pods = [pod("a", sidecar="classic"), pod("b", sidecar="native"), pod("c"), pod("d", deleting=True)]
    row = nsi.row_from_facts(ns, Counter(f for f in map(nsi.pod_facts, pods) if f is not None))
    assert row.sidecar_ratio == "2/3"
    assert row.out_of_step == 1
    assert row.mode == "istio-injection=enabled"
    assert row.conflict
    assert row.status == "Active"


def gateway(name: str, *, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
            ) -> dict[str, Any]:
    """A gateway pod: istio-proxy is its main (only) container."""
    p = pod(name, labels=labels, annotations=annotations)
    p["spec"]["containers"] = [{"name": "istio-proxy", "image": "proxyv2"}]
    p["status"]["containerStatuses"] = [{"name": "istio-proxy", "ready": True}]
    return p


@pytest.mark.parametrize(
    "ns_labels", [{}, {"istio-injection": "enabled"}, {"istio-injection": "disabled"}, {"istio.io/rev": "x"}]
)
def test_gateways_are_never_out_of_step(ns_labels: dict[str, str]) -> None:
    """istio-system's gateways run istio-proxy as their workload: no restart can add or drop a sidecar."""
    pods = [
        gateway("istio-ingressgateway-1", labels={INJECT: "false"}),
        gateway("istio-egressgateway-1", labels={INJECT: "false"}),
        gateway("chart-gw", labels={INJECT: "true"}, annotations={"inject.istio.io/templates": "gateway"}),
    ]
    for p in pods:
        assert is_proxy_workload(p)
        assert not inj.out_of_step(ns_labels, p)
    plan = restarts.plan_restart("istio-system", ns_labels, pods, [])
    assert plan.empty and not plan.deployments
    ns = {"metadata": {"name": "istio-system", "labels": ns_labels}}
    row = nsi.row_from_facts(ns, Counter(f for f in map(nsi.pod_facts, pods) if f is not None))
    assert row.out_of_step == 0


def test_a_sidecar_next_to_an_app_is_not_a_gateway() -> None:
    assert not is_proxy_workload(pod("a", sidecar="classic"))
    assert not is_proxy_workload(pod("a", sidecar="classic", labels={INJECT: "true"}))
    assert not is_proxy_workload(pod("a"))
    assert inj.out_of_step({"istio-injection": "disabled"}, pod("a", sidecar="classic"))
    # Opted out, yet istio-proxy is in the template: the injector did not add it, so no restart removes it.
    assert not inj.out_of_step({}, pod("a", sidecar="classic", labels={INJECT: "false"}))


def test_pod_facts() -> None:
    assert nsi.pod_facts(pod("a", sidecar="native", annotations={INJECT: "false"})) == (
        True, "false", False, False
    )
    assert nsi.pod_facts(pod("b", labels={"istio.io/rev": "canary"})) == (False, None, True, False)
    assert nsi.pod_facts(pod("c", deleting=True)) is None
    assert nsi.pod_facts(pod("d", phase="Succeeded")) is None


def test_namespace_index_batches_and_recomputes_changed_namespaces() -> None:
    from tui.kube import WatchEvent

    def ns(name: str, **labels: str) -> dict[str, Any]:
        meta = {"name": name, "uid": f"ns-{name}", "labels": labels}
        return {"metadata": meta, "status": {"phase": "Active"}}

    def with_uid(p: dict[str, Any], ns_name: str) -> dict[str, Any]:
        p["metadata"]["uid"] = f"uid-{p['metadata']['name']}"
        p["metadata"]["namespace"] = ns_name
        return p

    index = nsi.NamespaceIndex()
    assert index.take_rows() is None
    index.apply_namespace(WatchEvent("SYNCED", objects={"a": ns("demo", **{"istio-injection": "enabled"})}))
    a = with_uid(pod("a", sidecar="classic"), "demo")
    b = with_uid(pod("b"), "demo")
    index.apply_pod(WatchEvent("SYNCED", objects={"uid-a": a, "uid-b": b}))
    rows = index.take_rows()
    assert rows is not None
    assert [(r.name, r.sidecar_ratio, r.out_of_step) for r in rows] == [("demo", "1/2", 1)]
    assert index.take_rows() is None

    index.apply_pod(WatchEvent("DELETED", object=b))
    index.apply_namespace(WatchEvent("ADDED", object=ns("empty")))
    rows = index.take_rows()
    assert rows is not None
    assert [(r.name, r.sidecar_ratio, r.mode) for r in rows] == [
        ("demo", "1/1", "istio-injection=enabled"),
        ("empty", "0/0", "none"),
    ]
    index.apply_pod(WatchEvent("RECONNECTING", message="connection refused"))
    assert index.reconnecting == "connection refused"
    assert index.take_rows() is None
    index.apply_namespace(WatchEvent("DELETED", object=ns("empty")))
    rows = index.take_rows()
    assert rows is not None
    assert [r.name for r in rows] == ["demo"]
    assert index.reconnecting == "connection refused"  # a namespace event says nothing about the pod watch
    index.apply_pod(WatchEvent("SYNCED", objects={"uid-a": a}))
    assert index.reconnecting == ""
    assert index.labels("demo") == {"istio-injection": "enabled"}
    assert [p["metadata"]["name"] for p in index.pods("demo")] == ["a"]


# --- against the sandbox


class _NoAdmissionApi:
    """A cluster whose discovery lacks admissionregistration: a fault the sandbox cannot produce."""

    def has_api(self, group_version: str) -> bool:
        return group_version != "admissionregistration.k8s.io/v1"


def _create_injector(cluster: Cluster, revision: str = "default") -> None:
    body = istio_injector(revision=revision)
    body.update(apiVersion="admissionregistration.k8s.io/v1", kind="MutatingWebhookConfiguration")
    cluster.create(kube.MUTATING_WEBHOOKS, body)


def test_preflight_without_admission_api() -> None:
    fake = cast(Cluster, _NoAdmissionApi())
    result = injector.preflight_injection(fake, labels_after={"istio-injection": "enabled"})
    assert not result.ok
    assert "does not serve admissionregistration.k8s.io/v1" in result.reason


def test_preflight_against_the_sandbox(cluster: Cluster) -> None:
    enabled = {"istio-injection": "enabled"}
    missing = injector.preflight_injection(cluster, labels_after=enabled)
    assert not missing.ok
    assert missing.checks[0].ok  # the API is served
    assert "no istio-sidecar-injector MutatingWebhookConfiguration" in missing.reason
    _create_injector(cluster, revision="1-24")
    assert injector.preflight_injection(cluster, labels_after=enabled).ok
    assert injector.preflight_injection(cluster, labels_after={"istio.io/rev": "1-24"}).ok
    wrong_rev = injector.preflight_injection(cluster, labels_after={"istio.io/rev": "canary"})
    assert not wrong_rev.ok
    assert "istio.io/rev=canary" in wrong_rev.reason


def test_restart_targets_and_rollout_restart_against_the_sandbox(cluster: Cluster) -> None:
    _create_injector(cluster)
    cluster.create(kube.NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    cluster.create(kube.DEPLOYMENTS, deployment_manifest("web", 2), namespace="shop")

    def live_pods() -> list[dict[str, Any]]:
        items = cluster.list(kube.PODS, namespace="shop").items
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    wait_for(lambda: len(live_pods()) == 2, "two pods")
    plan = inj.plan_change("shop", {}, InjectionMode.enabled())
    cluster.patch(kube.NAMESPACES, "shop", plan.patch())
    targets = restarts.find_restart_targets(cluster, "shop")
    assert targets.deployments == ("web",)
    assert len(targets.pods) == 2
    assert all(p.owner == "Deployment/web" and p.wants_sidecar for p in targets.pods)
    assert restarts.restart_deployments(cluster, "shop", [*targets.deployments, "gone"]) == ["web"]

    def finished() -> bool:
        rss = {r["metadata"]["name"]: r for r in cluster.list(kube.REPLICASETS, namespace="shop").items}
        items = cluster.list(kube.PODS, namespace="shop").items
        return restarts.restart_progress({"istio-injection": "enabled"}, items, rss, ["web"]).finished

    wait_for(finished, "the restarted pods to be ready with sidecars")
    assert all(has_sidecar(p) for p in live_pods())
    assert restarts.find_restart_targets(cluster, "shop").empty
