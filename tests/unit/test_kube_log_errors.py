"""What a user reads when a pod has no log to show: the server's reason and a hint that fits it."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for
from tui import kube
from tui.errors import Invalid
from tui.kube import Cluster


def test_logs_of_a_container_that_never_started_do_not_blame_the_request_body(cluster: Cluster) -> None:
    """Logs of an ImagePullBackOff pod read '… waiting to start … (fix the request body)' in the TUI."""
    cluster.create(kube.NAMESPACES, {"metadata": {"name": "book"}})
    container = {"name": "c", "image": "x-doesnotexist"}
    body = {"metadata": {"name": "broken"}, "spec": {"containers": [container]}}
    cluster.create(kube.PODS, body, namespace="book")

    def waiting() -> bool:
        statuses = (cluster.get(kube.PODS, "broken", namespace="book").get("status") or {}).get(
            "containerStatuses"
        ) or []
        return any("waiting" in (s.get("state") or {}) for s in statuses)

    wait_for(waiting, "the container to wait on its image")
    with pytest.raises(Invalid) as caught:
        cluster.pod_logs("broken", namespace="book")
    text = str(caught.value)
    assert "waiting to start" in text
    assert "request body" not in text
    assert "describe" in text
