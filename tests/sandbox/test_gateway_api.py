"""Gateway API and ambient mode end to end: official charts, CRDs and samples, stock helm and kubectl.

One sandbox with the ambient profile (base, istiod ``profile=ambient``, cni, ztunnel) carries both data
planes: namespace ``sc`` is injected (sidecars), namespace ``amb`` is ambient. Each gets Bookinfo, the
version Services and the sample ``bookinfo-gateway.yaml`` (Gateway API). Splits are counted over enough
requests for a wide tolerance; the data plane's weighted picks are seeded, so runs repeat.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import wait_for
from tests.sandbox.test_official_charts import CHARTS, SAMPLES, Tools, get, start
from tui.traffic.classify import classify

CRDS = CHARTS.parents[1] / "gateway-api-v1.6.1-standard-crds.yaml"
BOOKINFO = SAMPLES / "bookinfo"
GATEWAY_API = BOOKINFO / "gateway-api"
WAYPOINT = Path(__file__).resolve().parents[2] / "manifests" / "ambient" / "waypoint.yaml"
REDIRECTION = "ambient.istio.io/redirection"
N = 300

pytestmark = pytest.mark.skipif(not CRDS.is_file(), reason="the Gateway API CRDs are not in ../shared/data")


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    sb = start(1)
    try:
        tools = Tools(sb, tmp_path_factory.mktemp("gateway-api"))
        tools.kubectl("apply", "--server-side", "-f", str(CRDS))
        tools.helm_install("istio-base", "base")
        tools.helm_install("istiod", "istiod", "--set", "profile=ambient")
        tools.helm_install("istio-cni", "cni", "--set", "profile=ambient")
        tools.helm_install("ztunnel", "ztunnel")
        for ns in ("sc", "amb"):
            tools.kubectl("create", "namespace", ns)
        tools.kubectl("label", "namespace", "sc", "istio-injection=enabled")
        for ns in ("sc", "amb"):
            for sample in ("platform/kube/bookinfo.yaml", "platform/kube/bookinfo-versions.yaml"):
                tools.kubectl("apply", "-n", ns, "-f", str(BOOKINFO / sample))
            tools.kubectl("apply", "-n", ns, "-f", str(GATEWAY_API / "bookinfo-gateway.yaml"))
        for ns in ("sc", "amb"):
            tools.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod", "--all", "--timeout=30s")
        yield tools
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def url(tools: Tools, ns: str, path: str = "/productpage") -> str:
    name = "shared-istio" if ns == "ingress" else "bookinfo-gateway-istio"
    svc = get(tools, f"/api/v1/namespaces/{ns}/services/{name}")
    node_port = next(p["nodePort"] for p in svc["spec"]["ports"] if p["name"] == "http")
    return f"http://127.0.0.1:{node_port}{path}"


def tally(client: httpx.Client, target: str, n: int = N, **kwargs: Any) -> Counter[str]:
    return Counter(
        classify(r.status_code, r.content).category for r in (client.get(target, **kwargs) for _ in range(n))
    )


def thirds(counts: Counter[str]) -> bool:
    return set(counts) == {"no_stars", "black", "red"} and all(60 <= c <= 140 for c in counts.values())


def halves(counts: Counter[str]) -> bool:
    return set(counts) == {"no_stars", "red"} and 110 <= counts["red"] <= 190


def test_gateway_classes_and_programmed_gateway_with_its_service(mesh: Tools, client: httpx.Client) -> None:
    classes = mesh.kubectl("get", "gatewayclass", "-o", "jsonpath={range .items[*]}{.metadata.name} {end}")
    assert set(classes.split()) >= {"istio", "istio-waypoint"}
    out = mesh.kubectl(
        "wait", "-n", "sc", "--for=condition=programmed", "gtw/bookinfo-gateway", "--timeout=9s"
    )
    assert "condition met" in out
    gw = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/sc/gateways/bookinfo-gateway")
    conditions = {c["type"]: c for c in gw["status"]["conditions"]}
    assert conditions["Accepted"]["status"] == conditions["Programmed"]["status"] == "True"
    assert conditions["Programmed"]["observedGeneration"] == gw["metadata"]["generation"]
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 1
    assert gw["status"]["addresses"] == [
        {"type": "Hostname", "value": "bookinfo-gateway-istio.sc.svc.cluster.local"}
    ]
    svc = get(mesh, "/api/v1/namespaces/sc/services/bookinfo-gateway-istio")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("status-port", 15021), ("http", 80)]
    assert svc["metadata"]["ownerReferences"][0]["kind"] == "Gateway"
    dep = get(mesh, "/apis/apps/v1/namespaces/sc/deployments/bookinfo-gateway-istio")
    assert dep["status"]["readyReplicas"] == 1
    route = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/sc/httproutes/bookinfo")
    (parent,) = route["status"]["parents"]
    assert {c["type"]: c["status"] for c in parent["conditions"]} == {
        "Accepted": "True",
        "ResolvedRefs": "True",
    }
    page = client.get(url(mesh, "sc"))
    assert page.status_code == 200 and classify(page.status_code, page.content).category != "error"
    assert client.get(url(mesh, "sc", "/staticx")).status_code == 404  # PathPrefix matches whole elements
    assert client.get(url(mesh, "sc", "/static/x.css")).status_code in (200, 404)


def test_service_type_annotation_is_respected(mesh: Tools) -> None:
    mesh.kubectl("annotate", "-n", "amb", "gtw/bookinfo-gateway", "networking.istio.io/service-type=NodePort")
    path = "/api/v1/namespaces/amb/services/bookinfo-gateway-istio"
    wait_for(lambda: get(mesh, path)["spec"]["type"] == "NodePort", what="a NodePort gateway Service")


def test_sidecars_split_in_thirds_then_the_gamma_route_gives_fifty_fifty(
    mesh: Tools, client: httpx.Client
) -> None:
    target = url(mesh, "sc")
    assert thirds(tally(client, target)), "no route on reviews: round robin over v1, v2, v3"
    mesh.kubectl("apply", "-n", "sc", "-f", str(GATEWAY_API / "route-reviews-50-v3.yaml"))
    wait_for(lambda: set(tally(client, target, 20)) <= {"no_stars", "red"}, what="the 50/50 route")
    counts = tally(client, target)
    assert halves(counts), counts


JASON = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - matches: [{headers: [{name: end-user, value: jason}]}]
    backendRefs: [{name: reviews-v2, port: 9080}]
  - backendRefs: [{name: reviews-v1, port: 9080}]
"""


def test_a_header_match_sends_the_logged_in_user_to_v2(mesh: Tools, tmp_path: Path) -> None:
    """productpage passes the session's user as ``end-user``; a GAMMA route matches on it."""
    manifest = tmp_path / "jason.yaml"
    manifest.write_text(JASON)
    mesh.kubectl("apply", "-n", "sc", "-f", str(manifest))
    target = url(mesh, "sc")
    with httpx.Client(timeout=10) as anonymous, httpx.Client(timeout=10) as jason:
        wait_for(lambda: set(tally(anonymous, target, 20)) == {"no_stars"}, what="everyone else on v1")
        login = jason.post(url(mesh, "sc", "/login"), data={"username": "jason", "passwd": "x"})
        assert login.status_code == 302
        assert tally(jason, target, 30) == Counter({"black": 30})
    mesh.kubectl("apply", "-n", "sc", "-f", str(GATEWAY_API / "route-reviews-50-v3.yaml"))


def test_ambient_label_captures_running_pods_without_restart(mesh: Tools) -> None:
    before = get(mesh, "/api/v1/namespaces/amb/pods")["items"]
    assert not any(REDIRECTION in (p["metadata"].get("annotations") or {}) for p in before)
    mesh.kubectl("label", "namespace", "amb", "istio.io/dataplane-mode=ambient")

    def captured() -> list[dict[str, Any]] | None:
        pods = get(mesh, "/api/v1/namespaces/amb/pods")["items"]
        apps = [p for p in pods if "app" in p["metadata"]["labels"]]
        ok = all((p["metadata"].get("annotations") or {}).get(REDIRECTION) == "enabled" for p in apps)
        return pods if ok else None

    after = wait_for(captured, what="the ambient annotation on Bookinfo's pods")
    assert {p["metadata"]["name"] for p in after} == {p["metadata"]["name"] for p in before}
    apps = [p for p in after if "app" in p["metadata"]["labels"]]
    assert len(apps) == 6  # details, productpage, ratings, reviews v1-v3
    for pod in apps:
        assert "istio-proxy" not in {c["name"] for c in pod["spec"]["containers"]}
    label = "gateway.networking.k8s.io/gateway-name"
    gateway_pod = next(p for p in after if label in p["metadata"]["labels"])
    assert REDIRECTION not in (gateway_pod["metadata"].get("annotations") or {})
    sc_pods = get(mesh, "/api/v1/namespaces/sc/pods")["items"]
    assert not any(REDIRECTION in (p["metadata"].get("annotations") or {}) for p in sc_pods)


def test_ambient_route_needs_a_waypoint_the_namespace_uses(mesh: Tools, client: httpx.Client) -> None:
    target = url(mesh, "amb")
    mesh.kubectl("label", "namespace", "amb", "istio.io/dataplane-mode=ambient", "--overwrite")
    wait_for(lambda: client.get(target).status_code == 200, what="traffic in the ambient namespace")
    mesh.kubectl("apply", "-n", "amb", "-f", str(GATEWAY_API / "route-reviews-50-v3.yaml"))
    assert thirds(tally(client, target)), "ztunnel alone is L4: the route has no effect"
    mesh.kubectl("apply", "-n", "amb", "-f", str(WAYPOINT))
    mesh.kubectl("wait", "-n", "amb", "--for=condition=programmed", "gtw/waypoint", "--timeout=20s")
    mesh.kubectl("rollout", "status", "-n", "amb", "deployment/waypoint", "--timeout=20s")
    assert thirds(tally(client, target)), "a waypoint nobody uses changes nothing"
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint=waypoint")
    wait_for(lambda: set(tally(client, target, 20)) <= {"no_stars", "red"}, what="the waypoint's 50/50")
    counts = tally(client, target)
    assert halves(counts), counts
    # Mixed: the sidecar namespace keeps its own (client-side) split at the same time.
    assert halves(tally(client, url(mesh, "sc")))
    svc = get(mesh, "/api/v1/namespaces/amb/services/waypoint")
    assert svc["spec"]["type"] == "ClusterIP" and 15008 in [p["port"] for p in svc["spec"]["ports"]]
    gw = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/amb/gateways/waypoint")
    assert gw["status"]["addresses"] == [{"type": "IPAddress", "value": svc["spec"]["clusterIP"]}]


def test_route_status_names_a_missing_parent_and_backend(mesh: Tools, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad}\n"
        "spec:\n  parentRefs: [{name: no-such-gateway}]\n"
        "  rules: [{backendRefs: [{name: reviews-v9, port: 9080}]}]\n"
    )
    mesh.kubectl("apply", "-n", "sc", "-f", str(bad))

    def conditions() -> dict[str, tuple[str, str]] | None:
        route = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/sc/httproutes/bad")
        parents = (route.get("status") or {}).get("parents") or []
        return {c["type"]: (c["status"], c["reason"]) for c in parents[0]["conditions"]} if parents else None

    found = wait_for(conditions, what="the route's status")
    assert found == {"Accepted": ("False", "NoMatchingParent"), "ResolvedRefs": ("False", "BackendNotFound")}


def test_matches_and_response_header_filter(mesh: Tools, client: httpx.Client, tmp_path: Path) -> None:
    route = tmp_path / "match.yaml"
    route.write_text(
        """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: matches}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  hostnames: [match.example]
  rules:
  - matches:
    - path: {type: RegularExpression, value: "/product.*"}
      headers: [{name: X-Team, value: books}]
      queryParams: [{name: v, value: "1"}]
    filters:
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-route, value: matched}]
    backendRefs: [{name: productpage, port: 9080}]
"""
    )
    mesh.kubectl("apply", "-n", "sc", "-f", str(route))
    target = url(mesh, "sc")
    headers = {"Host": "match.example", "X-Team": "books"}

    def matched() -> httpx.Response | None:
        r = client.get(target, params={"v": "1"}, headers=headers)
        return r if r.headers.get("x-route") == "matched" else None

    assert wait_for(matched, what="the regex/header/query route").status_code == 200
    gone = tmp_path / "gone.yaml"
    gone.write_text(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: gone}\n"
        "spec:\n  parentRefs: [{name: bookinfo-gateway}]\n  hostnames: [gone.example]\n"
        "  rules: [{backendRefs: [{name: no-such-service, port: 9080}]}]\n"
    )
    mesh.kubectl("apply", "-n", "sc", "-f", str(gone))
    wait_for(lambda: client.get(target, headers={"Host": "gone.example"}).status_code == 500, what="a 500")
    assert "x-route" not in client.get(target, params={"v": "2"}, headers=headers).headers
    assert "x-route" not in client.get(target, params={"v": "1"}, headers={"Host": "match.example"}).headers


def test_virtual_service_weights_also_need_the_waypoint_in_ambient(mesh: Tools, client: httpx.Client) -> None:
    """The Istio API follows the same rule: without a waypoint ztunnel ignores the VirtualService."""
    target = url(mesh, "amb")
    net = BOOKINFO / "networking"
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint-")
    mesh.kubectl("delete", "-n", "amb", "httproute", "reviews", "--ignore-not-found")
    mesh.kubectl("apply", "-n", "amb", "-f", str(net / "destination-rule-all.yaml"))
    mesh.kubectl("apply", "-n", "amb", "-f", str(net / "virtual-service-reviews-50-v3.yaml"))
    wait_for(lambda: "black" in tally(client, target, 30), what="the round robin without a waypoint")
    assert thirds(tally(client, target))
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint=waypoint")
    wait_for(lambda: set(tally(client, target, 20)) <= {"no_stars", "red"}, what="the VirtualService's split")
    assert halves(tally(client, target))


def test_deleting_a_gateway_removes_what_it_owned_and_unbinds_its_routes(mesh: Tools) -> None:
    mesh.kubectl("delete", "-n", "amb", "gtw/bookinfo-gateway", "--wait=true")

    def gone() -> bool:
        out = mesh.kubectl("get", "deploy,svc", "-n", "amb", "-o", "name")
        return "bookinfo-gateway-istio" not in out

    wait_for(gone, what="the gateway's Deployment and Service to go")

    def unbound() -> bool:
        route = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/amb/httproutes/bookinfo")
        (parent,) = route["status"]["parents"]
        accepted = next(c for c in parent["conditions"] if c["type"] == "Accepted")
        return accepted["status"] == "False" and accepted["reason"] == "NoMatchingParent"

    wait_for(unbound, what="the route to report its missing parent")


SHARED = """apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared, namespace: ingress}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
"""

ROUTE = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: via-shared, namespace: NS}
spec:
  parentRefs: [{name: shared, namespace: ingress}]
  hostnames: [NS.example]
  rules: [{backendRefs: [{name: productpage, port: 9080}]}]
"""


def test_one_gateway_for_a_sidecar_and_an_ambient_namespace(
    mesh: Tools, client: httpx.Client, tmp_path: Path
) -> None:
    """Mixed namespaces behind one shared Gateway: each split follows its own data plane."""
    mesh.kubectl("create", "namespace", "ingress")
    manifest = tmp_path / "shared.yaml"
    manifest.write_text("---\n".join([SHARED, ROUTE.replace("NS", "sc"), ROUTE.replace("NS", "amb")]))
    mesh.kubectl("apply", "-f", str(manifest))
    mesh.kubectl("wait", "-n", "ingress", "--for=condition=programmed", "gtw/shared", "--timeout=9s")
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint-")
    target = url(mesh, "ingress")
    wait_for(
        lambda: client.get(target, headers={"Host": "sc.example"}).status_code == 200,
        what="the shared gateway",
    )
    assert halves(tally(client, target, headers={"Host": "sc.example"})), "sidecar callers route client-side"
    wait_for(lambda: "black" in tally(client, target, 30, headers={"Host": "amb.example"}), what="L4 only")
    assert thirds(tally(client, target, headers={"Host": "amb.example"})), (
        "ambient without a waypoint: L4 only"
    )
    assert client.get(target, headers={"Host": "other.example"}).status_code == 404


def test_a_waypoint_for_workloads_leaves_service_traffic_at_l4(mesh: Tools, client: httpx.Client) -> None:
    target, host = url(mesh, "ingress"), {"Host": "amb.example"}
    mesh.kubectl("label", "-n", "amb", "gtw/waypoint", "istio.io/waypoint-for=workload", "--overwrite")
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint=waypoint", "--overwrite")
    assert thirds(tally(client, target, headers=host))
    mesh.kubectl("label", "-n", "amb", "gtw/waypoint", "istio.io/waypoint-for=service", "--overwrite")
    wait_for(lambda: "black" not in tally(client, target, 20, headers=host), what="the waypoint for Services")
    assert halves(tally(client, target, headers=host))


def test_calls_across_a_sidecar_and_an_ambient_namespace(mesh: Tools, client: httpx.Client) -> None:
    """productpage's REVIEWS_HOSTNAME sends its reviews calls to the other namespace. A sidecar caller routes
    client-side even to an ambient Service without a waypoint; an ambient caller of a sidecar Service (no
    waypoint there) gets L4 only: the sidecar's inbound side does not route."""
    shared, sc_host, amb_host = url(mesh, "ingress"), {"Host": "sc.example"}, {"Host": "amb.example"}
    mesh.kubectl("label", "namespace", "amb", "istio.io/use-waypoint-")  # amb keeps its 50/50 VirtualService
    mesh.kubectl("delete", "-n", "sc", "httproute", "reviews")
    wait_for(lambda: "black" in tally(client, shared, 30, headers=sc_host), what="sc's own reviews, no route")
    mesh.kubectl("set", "env", "-n", "sc", "deployment/productpage-v1", "REVIEWS_HOSTNAME=reviews.amb")
    mesh.kubectl("rollout", "status", "-n", "sc", "deployment/productpage-v1", "--timeout=20s")
    wait_for(
        lambda: "black" not in tally(client, shared, 30, headers=sc_host), what="amb's route, client-side"
    )
    assert halves(tally(client, shared, headers=sc_host))
    assert thirds(tally(client, shared, headers=amb_host)), "amb's own ambient callers still see L4"
    mesh.kubectl("apply", "-n", "sc", "-f", str(GATEWAY_API / "route-reviews-50-v3.yaml"))
    mesh.kubectl(
        "set",
        "env",
        "-n",
        "amb",
        "deployment/productpage-v1",
        "REVIEWS_HOSTNAME=reviews.sc.svc.cluster.local",
    )
    mesh.kubectl("rollout", "status", "-n", "amb", "deployment/productpage-v1", "--timeout=20s")
    wait_for(lambda: captured_productpage(mesh), what="the new ambient productpage to be captured")
    assert thirds(tally(client, shared, headers=amb_host)), "no waypoint on sc's reviews: L4 from ambient"
    assert reviews_pods(client, shared, amb_host) == names(mesh, "sc", "app%3Dreviews")
    answered = reviews_pods(client, shared, sc_host)
    assert answered <= names(mesh, "amb", "app%3Dreviews") and len(answered) == 2  # amb's v1 and v3


def names(mesh: Tools, ns: str, selector: str) -> set[str]:
    return {
        p["metadata"]["name"]
        for p in get(mesh, f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")["items"]
    }


def reviews_pods(client: httpx.Client, target: str, headers: dict[str, str]) -> set[str]:
    """The reviews pods that answered, as the page names them (over enough pages to see them all)."""
    pages = (client.get(target, headers=headers).text for _ in range(60))
    return {m for page in pages for m in re.findall(r"reviews-v[123]-[a-z0-9]+-[a-z0-9]+", page)}


def captured_productpage(mesh: Tools) -> bool:
    pods = get(mesh, "/api/v1/namespaces/amb/pods?labelSelector=app%3Dproductpage")["items"]
    return len(pods) == 1 and (pods[0]["metadata"].get("annotations") or {}).get(REDIRECTION) == "enabled"


CROSS = """apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross, namespace: ingress}
spec:
  parentRefs: [{name: shared}]
  hostnames: [cross.example]
  rules: [{backendRefs: [{name: productpage, namespace: sc, port: 9080}]}]
"""

GRANT = """apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-ingress, namespace: sc}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ingress}]
  to: [{group: "", kind: Service, name: productpage}]
"""


def test_a_backend_in_another_namespace_needs_a_reference_grant(
    mesh: Tools, client: httpx.Client, tmp_path: Path
) -> None:
    target, host = url(mesh, "ingress"), {"Host": "cross.example"}
    (tmp_path / "cross.yaml").write_text(CROSS)
    mesh.kubectl("apply", "-f", str(tmp_path / "cross.yaml"))

    def resolved() -> tuple[str, str] | None:
        route = get(mesh, "/apis/gateway.networking.k8s.io/v1/namespaces/ingress/httproutes/cross")
        parents = (route.get("status") or {}).get("parents") or []
        conds = {c["type"]: (c["status"], c["reason"]) for c in parents[0]["conditions"]} if parents else {}
        return conds.get("ResolvedRefs")

    assert wait_for(resolved, what="the route's status") == ("False", "RefNotPermitted")
    assert client.get(target, headers=host).status_code == 500
    (tmp_path / "grant.yaml").write_text(GRANT)
    mesh.kubectl("apply", "-f", str(tmp_path / "grant.yaml"))
    wait_for(lambda: resolved() == ("True", "ResolvedRefs"), what="the grant to resolve the backend")
    assert client.get(target, headers=host).status_code == 200
