"""Server-side Tables: kubectl's columns for the built-in kinds and the JSONPath of CRD printer columns."""

from __future__ import annotations

import httpx

from tui.sandbox.tables import json_path

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
GATEWAY_STATUS = {
    "status": {
        "addresses": [{"type": "IPAddress", "value": "10.0.0.1"}, {"value": "10.0.0.2"}],
        "conditions": [
            {"type": "Accepted", "status": "True"},
            {"type": "Programmed", "status": "False"},
        ],
    }
}


def test_json_path_subset_used_by_printer_columns() -> None:
    assert json_path(GATEWAY_STATUS, '.status.conditions[?(@.type=="Programmed")].status') == "False"
    assert json_path(GATEWAY_STATUS, ".status.addresses[*].value") == "10.0.0.1"
    assert json_path(GATEWAY_STATUS, ".status.addresses[1].value") == "10.0.0.2"
    assert json_path(GATEWAY_STATUS, "{.status.addresses[-1].value}") == "10.0.0.2"
    assert json_path(GATEWAY_STATUS, ".status.conditions[?(@.type=='Missing')].status") is None
    assert json_path(GATEWAY_STATUS, ".spec.nothing") is None
    assert json_path(GATEWAY_STATUS, ".status[") is None


def _columns(api: httpx.Client, path: str) -> tuple[list[str], list[list[object]]]:
    body = api.get(path, headers={"Accept": TABLE}).json()
    assert body["kind"] == "Table"
    return [c["name"] for c in body["columnDefinitions"]], [r["cells"] for r in body["rows"]]


def test_workload_tables_have_kubectl_columns(api: httpx.Client) -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "gw"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gw"},
            "minReplicas": 2,
            "maxReplicas": 5,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 80}}}
            ],
        },
    }
    assert (
        api.post("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", json=hpa).status_code
        == 201
    )
    cols, rows = _columns(api, "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers")
    assert cols == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
    assert rows[0][:5] == ["gw", "Deployment/gw", "cpu: <unknown>/80%", 2, 5]
    pdb = {"metadata": {"name": "gw"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"a": "b"}}}}
    assert api.post("/apis/policy/v1/namespaces/default/poddisruptionbudgets", json=pdb).status_code == 201
    cols, rows = _columns(api, "/apis/policy/v1/poddisruptionbudgets")
    assert cols == ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]
    assert rows[0][:3] == ["gw", "N/A", "1"]
    cols, _ = _columns(api, "/apis/apps/v1/statefulsets")
    assert cols == ["Name", "Ready", "Age", "Containers", "Images"]
    cols, _ = _columns(api, "/apis/apps/v1/daemonsets")
    assert cols[:8] == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Up-to-date",
        "Available",
        "Node Selector",
        "Age",
    ]
    cols, _ = _columns(api, "/apis/batch/v1/cronjobs")
    assert cols[:7] == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"]
    cols, _ = _columns(api, "/apis/discovery.k8s.io/v1/endpointslices")
    assert cols == ["Name", "AddressType", "Ports", "Endpoints", "Age"]


def test_kinds_without_printer_get_name_and_age(api: httpx.Client) -> None:
    cols, _ = _columns(api, "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas")
    assert cols == ["Name", "Age"]
