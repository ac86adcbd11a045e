"""The Traffic pane's gateway line fits its width by dropping detail in a stated order, keeping the URL and
the outcome of the /productpage check."""

from __future__ import annotations

import dataclasses

from tui.models import IngressInfo, VerifyResult
from tui.screens.traffic.cluster import ClusterView
from tui.screens.traffic.views import gateway_line

URL = "http://127.0.0.1:31380/productpage"
VIEW = ClusterView(
    namespace="bookinfo",
    ingress=IngressInfo("istio-ingressgateway", "istio-system", "NodePort", "127.0.0.1", 31380, "node-port"),
    verify=VerifyResult(URL, True, 200, f"GET {URL} → 200 in 4 ms"),
)


def line(view: ClusterView, width: int) -> str:
    text = gateway_line(view, width=width)
    assert text.cell_len <= width, (width, text.plain)
    return text.plain


def test_wide_enough_shows_everything() -> None:
    assert line(VIEW, 118) == (
        "Istio APIs (a) GATEWAY_URL 127.0.0.1:31380  NodePort istio-system/istio-ingressgateway"
        "  ✓ /productpage answers 200"
    )


def test_at_80_columns_the_service_gives_way_and_the_check_stays_whole() -> None:
    assert line(VIEW, 78) == "Istio APIs (a) GATEWAY_URL 127.0.0.1:31380  ✓ /productpage answers 200"


def test_detail_goes_in_the_stated_order() -> None:
    """The Service's name, its type, the API's full title, the check's wording, then the hint's wording."""
    pending = dataclasses.replace(
        VIEW,
        api="gateway-api",
        ingress=IngressInfo(
            "bookinfo-gateway-istio", "bookinfo", "LoadBalancer", "172.18.255.200", 80, "load-balancer",
            pending_load_balancer=True,
        ),
    )
    forms = [line(pending, width) for width in range(200, 72, -1)]
    steps = [form for i, form in enumerate(forms) if i == 0 or form != forms[i - 1]]
    assert steps == [
        "Gateway API (a) GATEWAY_URL 172.18.255.200:80  LoadBalancer bookinfo/bookinfo-gateway-istio"
        "  LoadBalancer pending: g patches it to NodePort  ✓ /productpage answers 200",
        "Gateway API (a) GATEWAY_URL 172.18.255.200:80  LoadBalancer"
        "  LoadBalancer pending: g patches it to NodePort  ✓ /productpage answers 200",
        "Gateway API (a) GATEWAY_URL 172.18.255.200:80  LoadBalancer pending: g patches it to NodePort"
        "  ✓ /productpage answers 200",
        "GW API (a) GATEWAY_URL 172.18.255.200:80  LoadBalancer pending: g patches it to NodePort"
        "  ✓ /productpage answers 200",
        "GW API (a) GATEWAY_URL 172.18.255.200:80  LoadBalancer pending: g patches it to NodePort  ✓ 200",
        "GW API (a) GATEWAY_URL 172.18.255.200:80  LB pending: g → NodePort  ✓ 200",
    ]
    assert gateway_line(pending, width=60).plain == steps[-1]  # too narrow for all: the pane adds "…"


def test_an_unbound_route_hint_is_shortened_not_cut() -> None:
    missing = dataclasses.replace(VIEW, verify=VerifyResult(URL, False, 404, f"GET {URL} → 404"))
    assert line(missing, 118).endswith("/productpage: 404, no route yet (d deploys Bookinfo)")
    assert line(missing, 78) == "Istio (a) GATEWAY_URL 127.0.0.1:31380  404: d deploys Bookinfo"


def test_without_a_gateway_the_reason_keeps_its_room() -> None:
    absent = dataclasses.replace(
        VIEW,
        api="gateway-api",
        ingress=None,
        verify=None,
        ingress_error="Gateway bookinfo/bookinfo-gateway does not exist (deploy Bookinfo)",
    )
    reason = "Gateway bookinfo/bookinfo-gateway does not exist (deploy Bookinfo)"
    assert line(absent, 118) == f"Gateway API (a) GATEWAY_URL {reason}"
    assert line(absent, 78) == f"GW API (a) {reason}"


def test_a_failed_check_keeps_its_status_code() -> None:
    failing = dataclasses.replace(
        VIEW, verify=VerifyResult(URL, False, 503, f"GET {URL} → 503: no healthy upstream")
    )
    assert line(failing, 118).endswith(f"  ✗ GET {URL} → 503: no healthy upstream")
    assert line(failing, 78) == "Istio (a) GATEWAY_URL 127.0.0.1:31380  ✗ /productpage → 503"
