"""Lists page with ``limit`` and ``continue`` as the apiserver pages them; an expired token is a 410."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KUBECTL, Kubectl
from tests.helpers import sandbox_client
from tests.sandbox.test_api import TABLE, assert_status, cm, pod
from tui.sandbox.api import paging
from tui.sandbox.cluster import Sandbox

CMS = "/api/v1/namespaces/default/configmaps"


def make_configmaps(sandbox: Sandbox, n: int) -> None:
    assert sandbox.store is not None
    for i in range(n):
        sandbox.store.create(
            "configmaps", {**cm(""), "metadata": {"name": f"cm-{i:02d}", "namespace": "default"}}
        )


def names(body: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in body["items"]]


def test_pages_walk_a_consistent_snapshot(sandbox: Sandbox, api: httpx.Client) -> None:
    make_configmaps(sandbox, 7)
    everything = names(api.get(CMS).json())
    first = api.get(f"{CMS}?limit=3").json()
    assert names(first) == everything[:3]
    rv, token = first["metadata"]["resourceVersion"], first["metadata"]["continue"]
    assert first["metadata"]["remainingItemCount"] == len(everything) - 3
    api.delete(f"{CMS}/cm-05")
    api.post(CMS, json=cm("cm-04a"))
    seen = names(first)
    while token:
        page = api.get(f"{CMS}?limit=3&continue={token}").json()
        assert page["metadata"]["resourceVersion"] == rv
        seen += names(page)
        token = page["metadata"].get("continue", "")
    assert seen == everything
    assert "remainingItemCount" not in page["metadata"]


def test_limit_zero_or_large_returns_everything_without_a_token(sandbox: Sandbox, api: httpx.Client) -> None:
    make_configmaps(sandbox, 3)
    for limit in (0, 100):
        body = api.get(f"{CMS}?limit={limit}").json()
        assert len(body["items"]) >= 3 and "continue" not in body["metadata"]


def test_table_lists_page_too(sandbox: Sandbox, api: httpx.Client) -> None:
    make_configmaps(sandbox, 4)
    table = api.get(f"{CMS}?limit=2", headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table" and len(table["rows"]) == 2 and table["metadata"]["continue"]


def test_selectors_page_without_remaining_count(sandbox: Sandbox, api: httpx.Client) -> None:
    for i in range(4):
        api.post(CMS, json={**cm(f"sel-{i}"), "metadata": {"name": f"sel-{i}", "labels": {"team": "a"}}})
    body = api.get(f"{CMS}?labelSelector=team%3Da&limit=3").json()
    assert len(body["items"]) == 3 and "remainingItemCount" not in body["metadata"]
    rest = api.get(f"{CMS}?labelSelector=team%3Da&limit=3&continue={body['metadata']['continue']}").json()
    assert names(rest) == ["sel-3"]
    other = api.get(
        f"/api/v1/namespaces/kube-system/configmaps?limit=3&continue={body['metadata']['continue']}"
    )
    assert_status(other, 400, "BadRequest")
    with_rv = api.get(f"{CMS}?limit=3&resourceVersion=1&continue={body['metadata']['continue']}")
    assert_status(with_rv, 400, "BadRequest")


def test_an_expired_token_is_410_with_a_token_for_the_rest(sandbox: Sandbox, api: httpx.Client) -> None:
    make_configmaps(sandbox, 5)
    first = api.get(f"{CMS}?limit=2").json()
    api.post(CMS, json=cm("cm-99"))
    assert sandbox.store is not None
    sandbox.store.compact()
    status = assert_status(api.get(f"{CMS}?limit=2&continue={first['metadata']['continue']}"), 410, "Expired")
    rest = api.get(f"{CMS}?limit=100&continue={status['metadata']['continue']}").json()
    assert names(first) + names(rest) == names(api.get(CMS).json())


def test_a_token_past_its_ttl_is_410(
    sandbox: Sandbox, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_configmaps(sandbox, 3)
    token = api.get(f"{CMS}?limit=1").json()["metadata"]["continue"]
    monkeypatch.setattr(paging, "TTL", -1.0)
    assert_status(api.get(f"{CMS}?limit=1&continue={token}"), 410, "Expired")


@pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")
def test_kubectl_raw_limit_and_chunked_get(sandbox: Sandbox, kubectl: Kubectl) -> None:
    assert sandbox.store is not None
    for i in range(5):
        sandbox.store.create("pods", pod(f"p{i}"))
    body = json.loads(kubectl("get", "--raw", "/api/v1/pods?limit=2").stdout)
    assert len(body["items"]) == 2 and body["metadata"]["continue"]
    listed = kubectl("get", "pods", "-A", "--chunk-size=2", "-o", "name").stdout.split()
    assert listed == [f"pod/p{i}" for i in range(5)]
    table = kubectl("get", "pods", "-n", "default", "--chunk-size=2", "--no-headers").stdout.splitlines()
    assert [line.split()[0] for line in table] == [f"p{i}" for i in range(5)]


def test_a_token_from_another_server_run_is_410_not_a_wrong_page(sandbox: Sandbox, api: httpx.Client) -> None:
    make_configmaps(sandbox, 5)
    token = api.get(f"{CMS}?limit=2").json()["metadata"]["continue"]
    other = Sandbox(port=0, seed=0)
    other.start()
    try:
        make_configmaps(other, 5)
        with sandbox_client(other) as c:
            assert c.get(f"{CMS}?limit=4").json()["metadata"]["continue"]  # the same snapshot id there
            assert_status(c.get(f"{CMS}?limit=2&continue={token}"), 410, "Expired")
    finally:
        other.stop()
