"""Addon access (install step 5) before Istio is installed: the Ingresses cannot go anywhere yet, and the step
says what to do about it instead of relaying the API's 404 for the namespace."""

from __future__ import annotations

from tests.helpers import make_app, until
from tests.ui.test_install_wizard import answer, ready, set_value, text_of
from tui import kube
from tui.kube import Cluster


async def test_creating_ingresses_before_istio_says_to_install_first(cluster: Cluster) -> None:
    app = make_app(cluster, pane="install", sandbox=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await set_value(pilot, "#f-addons", "prometheus")
        app.query_one("#wiz-steps").focus()
        await pilot.press("5", "g")
        await answer(pilot, "y", "Create addon Ingresses")
        await until(pilot, lambda: "Istio is not installed" in text_of(app, "#addons-status"), "the refusal")
        status = text_of(app, "#addons-status")
        assert status == "✘ Istio is not installed yet (no istio-system namespace): run step 3 Install first"
        assert "not found" not in " ".join(n.message for n in app._notifications)
        assert cluster.list(kube.INGRESSES, namespace=None).items == []
        assert cluster.list(kube.INGRESS_CLASSES).items == []  # the refusal changed nothing
