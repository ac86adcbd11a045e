"""Counts in the install pane's lines read as English: "1 release", "2 releases", never "release(s)"."""

from __future__ import annotations

from tui.models import LeftoverItem, plural, plural_noun
from tui.screens.install.uninstall import scan_summary
from tui.screens.install.views import leftovers


def test_plural_and_the_bare_noun() -> None:
    assert [plural(n, "pod") for n in (0, 1, 2)] == ["0 pods", "1 pod", "2 pods"]
    assert plural(2, "Ingress", "Ingresses") == "2 Ingresses"
    assert [plural_noun(n, "namespace") for n in (1, 3)] == ["namespace", "namespaces"]


def test_uninstall_scan_summary_counts() -> None:
    assert scan_summary(["istiod"], ["crd"]) == "1 release installed; 1 Istio object an uninstall will remove"
    two = scan_summary(["base", "istiod"], [])
    assert two == "2 releases installed; 0 Istio objects an uninstall will remove"
    assert scan_summary([], ["crd"]) == "no releases installed; 1 leftover item"


def test_leftover_audit_title_counts() -> None:
    one = [LeftoverItem("crd", "gateways.networking.istio.io")]
    assert leftovers(one).plain.startswith("! 1 thing left behind:\n")
    assert leftovers(one * 2, before=True).plain.startswith("Istio in the cluster now: 2 items\n")
