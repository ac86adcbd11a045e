"""Bookinfo end to end against the sandbox: deploy, expose, verify, presets, faults, cleanup, over real HTTP.

The Istio pieces the install wizard would bring are created directly here (the networking CRDs, the sidecar
injector webhook, and a Deployment + Service labelled ``istio: ingressgateway`` in istio-system), so these
tests depend only on the sandbox and on tui.istio.bookinfo. Pages are fetched with plain httpx and sorted by
the traffic classifier.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import istio_crd, wait_for
from tui import kube
from tui.errors import ConfigError
from tui.istio import addons, bookinfo
from tui.kube import Cluster
from tui.models import IngressInfo
from tui.sandbox.cluster import Sandbox
from tui.traffic.classify import classify

NS = "bookinfo"


def free_node_port() -> int:
    """A nodePort that is free on 127.0.0.1 right now (parallel sandboxes would otherwise collide)."""
    start = 30000 + (time.monotonic_ns() // 1000) % 2500
    for port in list(range(start, 32768)) + list(range(30000, start)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the nodePort range")


def install_istio(cluster: Cluster, *, service_type: str = "NodePort", node_port: int | None = 0) -> int:
    """CRDs, injector webhook and an ingress gateway; returns the gateway's http2 nodePort.
    ``node_port=None`` leaves the choice to the sandbox's allocator."""
    for kind, plural in (
        ("Gateway", "gateways"),
        ("VirtualService", "virtualservices"),
        ("DestinationRule", "destinationrules"),
    ):
        cluster.create(kube.CRDS, istio_crd(kind, plural))
    wait_for(lambda: cluster.has_api("networking.istio.io/v1"), what="the Istio API group")
    cluster.create(
        kube.MUTATING_WEBHOOKS,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "istio-sidecar-injector"},
            "webhooks": [
                {
                    "name": "namespace.sidecar-injector.istio.io",
                    "namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}},
                    "clientConfig": {
                        "service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}
                    },
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                }
            ],
        },
    )
    if node_port is not None:
        node_port = node_port or free_node_port()
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0"}]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system", "labels": labels},
                "spec": {
                    "type": service_type,
                    "selector": labels,
                    "ports": [
                        {"name": "status-port", "port": 15021, "targetPort": 15021},
                        {
                            "name": "http2",
                            "port": 80,
                            "targetPort": 8080,
                            **({"nodePort": node_port} if node_port is not None else {}),
                        },
                    ],
                },
            },
        ]
    )
    svc = cluster.get(kube.SERVICES, "istio-ingressgateway", namespace="istio-system")
    return int(next(p["nodePort"] for p in svc["spec"]["ports"] if p["name"] == "http2"))


def deploy_bookinfo(cluster: Cluster, *, inject: bool = True) -> None:
    bookinfo.ensure_namespace(cluster, name=NS)
    if inject:
        cluster.patch(kube.NAMESPACES, NS, {"metadata": {"labels": {"istio-injection": "enabled"}}})
    bookinfo.deploy(cluster, namespace=NS)
    status = bookinfo.wait_ready(cluster, namespace=NS, timeout=20, interval=0.05)
    assert status.ready, status


def ingress(cluster: Cluster) -> IngressInfo:
    found = bookinfo.find_ingress(cluster, namespace=NS)
    wait_for(lambda: bookinfo.verify(found.productpage_url, timeout=2).ok, what="the product page")
    return found


def tally(client: httpx.Client, url: str, n: int) -> Counter[str]:
    return Counter(classify(r.status_code, r.content).category for r in (client.get(url) for _ in range(n)))


def login(client: httpx.Client, url: str, user: str) -> None:
    resp = client.post(url.replace("/productpage", "/login"), data={"username": user, "passwd": "x"})
    assert resp.status_code == 302 and resp.headers["location"] == "None"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Cluster, IngressInfo]]:
    """One sandbox with Istio and injected Bookinfo for the read-mostly tests; each test reverts presets."""
    sb = Sandbox(port=0, seed=7, pod_start_seconds=0.05).start()
    path = sb.write_kubeconfig(tmp_path_factory.mktemp("dataplane") / "kubeconfig")
    cluster = Cluster.from_kubeconfig(path=str(path), context="sandbox")
    try:
        install_istio(cluster)
        deploy_bookinfo(cluster)
        yield sb, cluster, ingress(cluster)
    finally:
        cluster.close()
        sb.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def routing(mesh: tuple[Sandbox, Cluster, IngressInfo]) -> Iterator[Cluster]:
    _, cluster, _ = mesh
    yield cluster
    for host in ("reviews", "ratings"):
        bookinfo.revert(cluster, namespace=NS, host=host)


def test_pods_are_injected_and_ready(mesh: tuple[Sandbox, Cluster, IngressInfo]) -> None:
    _, cluster, _ = mesh
    status = bookinfo.pod_status(cluster, namespace=NS)
    assert status.ready and not status.missing and not status.warnings
    assert bookinfo.bookinfo_namespaces(cluster) == [NS]
    assert sorted(p.name.rsplit("-", 2)[0] for p in status.pods) == sorted(bookinfo.DEPLOYMENTS)
    assert {p.ready_text for p in status.pods} == {"2/2"}
    assert status.productpage_sidecar is True


def test_gateway_url_is_found_and_answers(mesh: tuple[Sandbox, Cluster, IngressInfo]) -> None:
    _, cluster, found = mesh
    assert found.source == "node-port" and found.host == "127.0.0.1"
    assert found.gateway_url == f"127.0.0.1:{found.port}" and not found.pending_load_balancer
    result = bookinfo.verify(found.gateway_url)
    assert result.ok and result.status_code == 200
    assert httpx.get(f"http://{found.gateway_url}/nothing-routes-here").status_code == 404


def test_productpage_endpoints(mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client) -> None:
    _, _, found = mesh
    base = f"http://{found.gateway_url}"
    assert client.get(f"{base}/api/v1/products").json()[0]["title"] == "The Comedy of Errors"
    assert client.get(f"{base}/api/v1/products/0").json()["ISBN-10"] == "1234567890"
    assert len(client.get(f"{base}/api/v1/products/0/reviews").json()["reviews"]) == 2
    assert client.get(f"{base}/api/v1/products/0/ratings").json()["ratings"] == {
        "Reviewer1": 5,
        "Reviewer2": 4,
    }
    assert client.get(f"{base}/static/tailwind/tailwind.css").status_code == 200
    assert client.get(f"{base}/login").status_code == 405
    resp = client.post(
        f"{base}/login", data={"username": "alice"}, headers={"Referer": f"{base}/productpage"}
    )
    assert resp.status_code == 302 and resp.headers["location"] == f"{base}/productpage"
    assert "alice" in client.get(f"{base}/productpage").text
    resp = client.get(f"{base}/logout")
    assert resp.status_code == 302 and resp.headers["location"] == "None"
    assert "Sign in" in client.get(f"{base}/productpage").text
    assert resp.headers["server"] == "istio-envoy"


def test_without_routing_reviews_round_robin(
    mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    counts = tally(client, found.productpage_url, 30)
    assert counts == Counter({"no_stars": 10, "black": 10, "red": 10})


def test_fifty_fifty_v1_v3_split(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    preview = bookinfo.preview_preset(routing, namespace=NS, key="reviews-v1-v3-50")
    assert preview.creates and preview.changes and any("weight: 50" in line for line in preview.diff)
    view = bookinfo.apply_preset(routing, namespace=NS, key="reviews-v1-v3-50")
    assert view.default_weights == {"v1": 50, "v3": 50} and view.managed
    counts = tally(client, found.productpage_url, 400)
    assert set(counts) == {"no_stars", "red"}
    # The pick is seeded; the bound is the 99.9% interval of Binomial(400, 0.5), so a reseed cannot flake it.
    assert 167 <= counts["red"] <= 233, counts


def test_jason_gets_black_stars(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-jason-v2")
    assert tally(client, found.productpage_url, 20) == Counter({"no_stars": 20})
    login(client, found.productpage_url, "jason")
    page = client.get(found.productpage_url).text
    assert "jason" in page and "Sign out" in page
    assert tally(client, found.productpage_url, 40) == Counter({"black": 40})
    client.get(found.productpage_url.replace("/productpage", "/logout"))
    assert tally(client, found.productpage_url, 5) == Counter({"no_stars": 5})


def test_abort_gives_ratings_unavailable_for_jason(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-jason-v2")
    bookinfo.apply_preset(routing, namespace=NS, key="ratings-abort-jason")
    login(client, found.productpage_url, "jason")
    assert tally(client, found.productpage_url, 20) == Counter({"ratings_unavailable": 20})
    with httpx.Client() as anonymous:
        assert tally(anonymous, found.productpage_url, 5) == Counter({"no_stars": 5})


def test_delay_times_out_reviews_without_sleeping_seven_seconds(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-jason-v2")
    bookinfo.apply_preset(routing, namespace=NS, key="ratings-delay-jason")
    login(client, found.productpage_url, "jason")
    started = time.monotonic()
    assert tally(client, found.productpage_url, 5) == Counter({"reviews_unavailable": 5})
    assert time.monotonic() - started < 3, "the 7 s delay is simulated, not slept"
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-v3")
    # reviews v3 gives ratings only 2.5 s, inside productpage's 3 s: the page survives without ratings.
    assert tally(client, found.productpage_url, 5) == Counter({"ratings_unavailable": 5})


def test_revert_restores_a_foreign_virtual_service(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo]
) -> None:
    foreign = bookinfo.preset("reviews-v3").doc
    foreign["metadata"] = {"name": "reviews", "labels": {"team": "books"}}
    routing.create(kube.VIRTUAL_SERVICES, foreign, namespace=NS)
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-v1-v2-80")
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-v2-v3-50")
    assert bookinfo.current_routing(routing, namespace=NS).default_weights == {"v2": 50, "v3": 50}
    view = bookinfo.revert(routing, namespace=NS)
    assert view.exists and not view.managed and view.default_weights == {"v3": 100}
    stored = routing.get(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)
    assert stored["metadata"]["labels"] == {"team": "books"}
    assert not any(k.startswith("istio-tui/") for k in stored["metadata"].get("annotations") or {})
    routing.delete(kube.VIRTUAL_SERVICES, "reviews", namespace=NS)


def test_productpage_down_is_503_and_backends_down_show_in_the_page(
    mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, cluster, found = mesh

    def scale(name: str, replicas: int) -> None:
        cluster.patch(kube.DEPLOYMENTS, name, {"spec": {"replicas": replicas}}, namespace=NS)

    try:
        for name in ("reviews-v1", "reviews-v2", "reviews-v3", "details-v1"):
            scale(name, 0)
        wait_for(
            lambda: tally(client, found.productpage_url, 1) == Counter({"reviews_unavailable": 1}),
            what="no reviews",
        )
        assert classify(200, client.get(found.productpage_url).content).details_unavailable
        scale("productpage-v1", 0)
        wait_for(lambda: client.get(found.productpage_url).status_code == 503, what="a 503")
        assert client.get(found.productpage_url).text == "no healthy upstream"
    finally:
        for name in bookinfo.DEPLOYMENTS:
            scale(name, 1)
        assert bookinfo.wait_ready(cluster, namespace=NS, timeout=20, interval=0.05).ready
    wait_for(lambda: bookinfo.verify(found.productpage_url).ok, what="the page back")


def test_without_sidecar_presets_do_not_apply(sandbox: Sandbox, cluster: Cluster) -> None:
    install_istio(cluster)
    deploy_bookinfo(cluster, inject=False)
    status = bookinfo.pod_status(cluster, namespace=NS)
    assert status.productpage_sidecar is False and "VirtualService routing" in status.warnings[0]
    found = ingress(cluster)
    bookinfo.apply_preset(cluster, namespace=NS, key="reviews-v3")
    with httpx.Client() as c:
        assert tally(c, found.productpage_url, 30) == Counter({"no_stars": 10, "black": 10, "red": 10})


def test_cleanup_leaves_foreign_virtual_services(sandbox: Sandbox, cluster: Cluster) -> None:
    install_istio(cluster)
    bookinfo.ensure_namespace(cluster, name=NS)
    theirs = bookinfo.load_destination_rules()[3]
    theirs["metadata"]["labels"] = {"team": "books"}
    cluster.create(kube.DESTINATION_RULES, theirs, namespace=NS)
    assert bookinfo.deploy(cluster, namespace=NS).skipped == ("DestinationRule/details",)
    other = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "someone-elses", "namespace": NS},
        "spec": {"hosts": ["details"], "http": [{"route": [{"destination": {"host": "details"}}]}]},
    }
    cluster.create(kube.VIRTUAL_SERVICES, other, namespace=NS)
    bookinfo.apply_preset(cluster, namespace=NS, key="reviews-v1-v3-50")
    result = bookinfo.cleanup(cluster, namespace=NS)
    assert result.kept == ("VirtualService/someone-elses", "DestinationRule/details")
    assert {"VirtualService/reviews", "VirtualService/bookinfo", "Gateway/bookinfo-gateway"} <= set(
        result.deleted
    )
    left = [o["metadata"]["name"] for o in cluster.list(kube.VIRTUAL_SERVICES, namespace=NS).items]
    assert left == ["someone-elses"]
    assert cluster.get(kube.DESTINATION_RULES, "details", namespace=NS)["metadata"]["labels"] == {
        "team": "books"
    }
    for res in (kube.DEPLOYMENTS, kube.SERVICES, kube.SERVICEACCOUNTS, kube.DESTINATION_RULES, kube.GATEWAYS):
        assert not cluster.list(res, namespace=NS, label_selector=bookinfo.MANAGED_SELECTOR).items
    wait_for(lambda: not cluster.list(kube.PODS, namespace=NS).items, what="the pods to go")


def test_pending_load_balancer_is_patched_to_node_port(sandbox: Sandbox, cluster: Cluster) -> None:
    node_port = install_istio(cluster, service_type="LoadBalancer")
    deploy_bookinfo(cluster)
    found = wait_for(lambda: _try_ingress(cluster), what="a gateway pod")
    assert found.pending_load_balancer and found.service_type == "LoadBalancer"
    patched = bookinfo.patch_to_nodeport(cluster, ingress=found)
    assert patched.service_type == "NodePort" and not patched.pending_load_balancer
    assert patched.port == node_port and patched.source == "node-port"
    wait_for(lambda: bookinfo.verify(patched.productpage_url).ok, what="the product page")


def test_gateway_stops_listening_when_its_pods_go(sandbox: Sandbox, cluster: Cluster) -> None:
    install_istio(cluster)
    deploy_bookinfo(cluster)
    found = ingress(cluster)
    cluster.patch(
        kube.DEPLOYMENTS, "istio-ingressgateway", {"spec": {"replicas": 0}}, namespace="istio-system"
    )

    def refused() -> bool:
        try:
            httpx.get(found.productpage_url, timeout=1)
        except httpx.ConnectError:
            return True
        except httpx.RemoteProtocolError:
            return False  # the listener is closing: it drops a request it accepted a moment before
        return False

    wait_for(refused, what="the nodePort to close")
    cluster.patch(
        kube.DEPLOYMENTS, "istio-ingressgateway", {"spec": {"replicas": 1}}, namespace="istio-system"
    )
    wait_for(lambda: bookinfo.verify(found.productpage_url).ok, what="the nodePort to reopen")


def _try_ingress(cluster: Cluster) -> IngressInfo | None:
    try:
        return bookinfo.find_ingress(cluster, namespace=NS)
    except Exception:
        return None


def test_deploy_without_istio_is_one_error_and_changes_nothing(sandbox: Sandbox, cluster: Cluster) -> None:
    bookinfo.ensure_namespace(cluster, name=NS)
    with pytest.raises(ConfigError, match="networking.istio.io/v1"):
        bookinfo.deploy(cluster, namespace=NS)
    assert not cluster.list(kube.DEPLOYMENTS, namespace=NS).items
    with pytest.raises(ConfigError, match="invalid namespace name"):
        bookinfo.deploy(cluster, namespace="Not_Valid")


def test_ingress_found_by_gateway_selector_and_load_balancer_address(
    sandbox: Sandbox, cluster: Cluster
) -> None:
    install_istio(cluster)
    deploy_bookinfo(cluster)
    # Move the gateway: a Helm-style gateway named "edge" in its own namespace, selected by the Gateway only.
    node_port = free_node_port()
    labels = {"app": "edge", "istio": "edge"}
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge"}},
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "edge", "namespace": "edge"},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0"}]
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "edge", "namespace": "edge", "labels": labels},
                "spec": {
                    "type": "LoadBalancer",
                    "selector": labels,
                    "ports": [{"name": "http2", "port": 80, "targetPort": 80, "nodePort": node_port}],
                },
            },
        ]
    )
    cluster.delete(kube.SERVICES, "istio-ingressgateway", namespace="istio-system")
    cluster.patch(kube.GATEWAYS, "bookinfo-gateway", {"spec": {"selector": {"istio": "edge"}}}, namespace=NS)
    found = wait_for(lambda: _try_ingress(cluster), what="the edge gateway")
    assert (found.namespace, found.service, found.port) == ("edge", "edge", node_port)
    assert found.pending_load_balancer
    wait_for(lambda: bookinfo.verify(found.productpage_url).ok, what="the page through the edge gateway")

    def give_address(svc: dict[str, Any]) -> None:
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}

    assert sandbox.store is not None
    sandbox.store.update("services", "edge", namespace="edge", mutate=give_address)
    found = bookinfo.find_ingress(cluster, namespace=NS)
    assert (found.source, found.host, found.port, found.gateway_url) == (
        "load-balancer",
        "127.0.0.1",
        80,
        "127.0.0.1:80",
    )


def test_a_busy_node_port_is_retried(sandbox: Sandbox, cluster: Cluster) -> None:
    port = free_node_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        install_istio(cluster, node_port=port)
        deploy_bookinfo(cluster)
        found = bookinfo.find_ingress(cluster, namespace=NS)
        assert found.port == port
    wait_for(lambda: bookinfo.verify(found.productpage_url, timeout=1).ok, what="the retried listener")


def test_two_sandboxes_get_their_own_node_ports(tmp_path: Path) -> None:
    """Same seed, hence the same seeded pick: the second sandbox must skip the port the first one binds."""
    sandboxes: list[Sandbox] = []
    clusters: list[Cluster] = []
    try:
        for i in range(2):
            sb = Sandbox(port=0, seed=11, pod_start_seconds=0.05).start()
            sandboxes.append(sb)
            path = sb.write_kubeconfig(tmp_path / f"kc{i}")
            cluster = Cluster.from_kubeconfig(path=str(path), context="sandbox")
            clusters.append(cluster)
            install_istio(cluster, node_port=None)
            deploy_bookinfo(cluster)
            if i == 1:
                bookinfo.apply_preset(cluster, namespace=NS, key="reviews-v3")
        first, second = (ingress(c) for c in clusters)
        assert first.port != second.port
        with httpx.Client(timeout=10) as client:
            assert set(tally(client, first.productpage_url, 6)) == {"no_stars", "black", "red"}
            assert tally(client, second.productpage_url, 6) == Counter({"red": 6})
    finally:
        for c in clusters:
            c.close()
        for sb in sandboxes:
            sb.stop()


def test_a_busy_explicit_node_port_is_reported_on_the_service(
    sandbox: Sandbox, cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_node_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with caplog.at_level(logging.WARNING, logger="tui.sandbox.dataplane"):
            assert install_istio(cluster, node_port=port) == port
            deploy_bookinfo(cluster)

            def warned() -> list[dict[str, Any]]:
                events = cluster.list(kube.EVENTS, namespace="istio-system").items
                return [e for e in events if e.get("reason") == "NodePortInUse"]

            event = wait_for(warned, what="a NodePortInUse event")[0]
        assert event["involvedObject"]["name"] == "istio-ingressgateway" and str(port) in event["message"]
        assert any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records)


def test_route_to_an_undefined_subset_fails_like_istio(
    routing: Cluster, mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, _, found = mesh
    bookinfo.apply_preset(routing, namespace=NS, key="reviews-v3")
    routing.delete(kube.DESTINATION_RULES, "reviews", namespace=NS)
    try:
        assert tally(client, found.productpage_url, 3) == Counter({"reviews_unavailable": 3})
    finally:
        bookinfo.deploy(routing, namespace=NS)
    assert tally(client, found.productpage_url, 3) == Counter({"red": 3})


def addon_backend(cluster: Cluster, name: str, port: int) -> None:
    """A stand-in addon: a Deployment and a Service ``name`` in istio-system."""
    labels = {"app": name}
    cluster.apply(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "istio-system"},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": name, "image": f"example/{name}:1"}]},
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "istio-system"},
                "spec": {"selector": labels, "ports": [{"name": "http", "port": port}]},
            },
        ]
    )


def test_addon_ingresses_route_by_host_on_the_gateway_node_port(
    mesh: tuple[Sandbox, Cluster, IngressInfo], client: httpx.Client
) -> None:
    _, cluster, info = mesh
    base = f"http://{info.host}:{info.port}"
    addon_backend(cluster, "kiali", 20001)
    wait_for(lambda: running_pod(cluster, "app=kiali"), what="the kiali stand-in to run")
    addons.apply_addon_ingresses(cluster, ["kiali", "grafana"], ingress_class="nginx")
    ignored = client.get(f"{base}/kiali", headers={"Host": "kiali.istio.io"})
    assert ignored.status_code == 404  # class nginx: Istio's gateway does not serve it

    addons.apply_addon_ingresses(cluster, ["kiali", "grafana"], ingress_class="istio")
    ingress_class = cluster.get(kube.INGRESS_CLASSES, "istio")
    assert ingress_class["spec"]["controller"] == "istio.io/ingress-controller"

    def kiali_page() -> httpx.Response | None:
        r = client.get(f"{base}/kiali", headers={"Host": "kiali.istio.io"})
        return r if r.status_code == 200 else None

    page = wait_for(kiali_page, what="the kiali Ingress to answer").text
    pod = next(
        p["metadata"]["name"]
        for p in cluster.list(kube.PODS, namespace="istio-system", label_selector="app=kiali").items
    )
    assert "<h1>Kiali</h1>" in page and "istio-system/kiali:20001" in page and pod in page
    no_backend = client.get(f"{base}/", headers={"Host": "grafana.istio.io"})
    assert no_backend.status_code == 503 and no_backend.text == "no healthy upstream"
    assert client.get(f"{base}/productpage").status_code == 200  # Bookinfo's routes are untouched

    lines = addons.hosts_lines("127.0.0.1", ["kiali"], port=info.port)
    assert lines == [f"127.0.0.1  kiali.istio.io  # open http://kiali.istio.io:{info.port}/kiali"]
    assert addons.gateway_port(cluster) == info.port
    for addon in ("kiali", "grafana"):
        cluster.delete(kube.INGRESSES, f"{addon}-ingress", namespace="istio-system")


def test_gateway_node_port_answers_on_every_node(tmp_path: Path, client: httpx.Client) -> None:
    sb = Sandbox(port=0, seed=1, pod_start_seconds=0.05, nodes=2).start()
    cluster = Cluster.from_kubeconfig(path=str(sb.write_kubeconfig(tmp_path / "kc")), context="sandbox")
    try:
        port = install_istio(cluster)
        wait_for(lambda: running_pod(cluster, "istio=ingressgateway"), what="the gateway pod")
        for ip in ("127.0.0.1", "127.0.0.2"):
            r = wait_for(
                lambda ip=ip: _try_get(client, f"http://{ip}:{port}/productpage"),
                what=f"{ip}:{port} to answer",
            )
            assert r.status_code == 404 and r.headers["server"] == "istio-envoy"  # listening, no route yet
    finally:
        cluster.close()
        sb.stop()


def running_pod(cluster: Cluster, selector: str) -> str:
    pods = cluster.list(kube.PODS, namespace="istio-system", label_selector=selector).items
    return next((p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"), "")


def _try_get(client: httpx.Client, url: str) -> httpx.Response | None:
    try:
        return client.get(url)
    except httpx.HTTPError:
        return None


def test_node_ports_handed_out_before_any_listener_binds_differ(tmp_path: Path) -> None:
    """Two sandboxes create the same NodePort Service before either has a pod to listen with: the seeded
    pick is the same, and nothing is bound yet, so only a hold from allocation on keeps them apart."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "edge", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "edge"}, "ports": [{"name": "http2", "port": 80}]},
    }
    sandboxes = [Sandbox(port=0, seed=12).start() for _ in range(2)]
    try:
        ports = []
        for i, sb in enumerate(sandboxes):
            path = sb.write_kubeconfig(tmp_path / f"kc{i}")
            cluster = Cluster.from_kubeconfig(path=str(path), context="sandbox")
            try:
                created = cluster.create(kube.SERVICES, service, namespace="default")
            finally:
                cluster.close()
            ports.append(created["spec"]["ports"][0]["nodePort"])
        assert ports[0] != ports[1], ports
    finally:
        for sb in sandboxes:
            sb.stop()
