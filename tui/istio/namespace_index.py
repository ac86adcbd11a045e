"""The namespace view's source of truth: namespaces and their pods as two watches report them, reduced to
one row per namespace (mode, sidecars, pods out of step) that costs the same at 10 pods or 10,000.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tui import kube
from tui.istio.injection import REV_LABEL, find_conflict, is_live, namespace_mode, wants_sidecar
from tui.istio.sidecar import has_sidecar, inject_override, is_proxy_workload
from tui.models import NamespaceRow

if TYPE_CHECKING:
    from tui.kube import WatchEvent


# A live pod reduced to what its row needs: (has sidecar, inject override, pod asks for a revision, gateway).
PodFacts = tuple[bool, str | None, bool, bool]


def pod_facts(pod: Mapping[str, Any]) -> PodFacts | None:
    """None for a pod that no longer counts (terminating or finished)."""
    if not is_live(pod):
        return None
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return has_sidecar(pod), inject_override(pod), bool(labels.get(REV_LABEL)), is_proxy_workload(pod)


def row_from_facts(namespace: Mapping[str, Any], facts: Mapping[PodFacts, int]) -> NamespaceRow:
    """One row of the namespace view from the Namespace object and a count of its live pods by facts."""
    meta = namespace.get("metadata") or {}
    labels = meta.get("labels") or {}
    mode = namespace_mode(labels)
    total = sidecars = stale = 0
    for (have, override, pod_revision, gateway), n in facts.items():
        total += n
        sidecars += n * have
        stale += n * (not gateway and have != wants_sidecar(labels, override, pod_revision))
    return NamespaceRow(
        name=meta.get("name", ""),
        uid=meta.get("uid", meta.get("name", "")),
        status=(namespace.get("status") or {}).get("phase", "Active"),
        mode=mode.label,
        mode_kind=mode.kind.value,
        pods=total,
        sidecars=sidecars,
        out_of_step=stale,
        conflict=find_conflict(meta.get("name", ""), labels) is not None,
        created=meta.get("creationTimestamp", ""),
    )


class NamespaceIndex:
    """Namespaces and their pods as two watches report them; the namespace view's single source of truth.

    Watch threads call ``apply_*``; the UI calls ``take_rows`` on a timer, so a burst of pod events costs one
    table update. Each namespace keeps a count of its pods by ``PodFacts`` (a handful of distinct values),
    kept up to date per event, so a row costs the same at 10 pods or 10,000. All methods are thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._pods: dict[str, dict[str, dict[str, Any]]] = {}
        self._where: dict[str, tuple[str, PodFacts | None]] = {}
        self._facts: dict[str, Counter[PodFacts]] = {}
        self._rows: dict[str, NamespaceRow] = {}
        self._dirty: set[str] = set()
        self._changed = False
        self._down: dict[str, str] = {}

    @property
    def reconnecting(self) -> str:
        """Why a watch is down ("" when both stream); the rows stay as last known meanwhile."""
        with self._lock:
            return "; ".join(m for m in self._down.values() if m)

    def apply_namespace(self, event: WatchEvent) -> None:
        with self._lock:
            self._down["namespaces"] = event.message if event.type == "RECONNECTING" else ""
            if event.type == "RECONNECTING":
                return
            if event.type == "SYNCED":
                named = (o for o in event.objects.values() if (o.get("metadata") or {}).get("name"))
                self._namespaces = {o["metadata"]["name"]: o for o in named}
                self._dirty.update(self._namespaces)
                self._dirty.update(self._rows)
            elif event.type in ("ADDED", "MODIFIED", "DELETED"):
                name = (event.object.get("metadata") or {}).get("name", "")
                if event.type == "DELETED":
                    self._namespaces.pop(name, None)
                else:
                    self._namespaces[name] = event.object
                self._dirty.add(name)
            self._changed = True

    def apply_pod(self, event: WatchEvent) -> None:
        with self._lock:
            self._down["pods"] = event.message if event.type == "RECONNECTING" else ""
            if event.type == "RECONNECTING":
                return
            if event.type == "SYNCED":
                self._dirty.update(ns for ns, _ in self._where.values())
                self._pods, self._where, self._facts = {}, {}, {}
                for key, obj in event.objects.items():
                    self._put_pod(key, obj)
            elif event.type in ("ADDED", "MODIFIED"):
                self._put_pod(kube.object_key(event.object), event.object)
            elif event.type == "DELETED":
                self._drop_pod(kube.object_key(event.object))
            self._changed = True

    def _drop_pod(self, key: str) -> None:
        where = self._where.pop(key, None)
        if where is None:
            return
        ns, facts = where
        self._pods.get(ns, {}).pop(key, None)
        if facts is not None:
            self._facts[ns][facts] -= 1
        self._dirty.add(ns)

    def _put_pod(self, key: str, pod: dict[str, Any]) -> None:
        """Watch objects are kept as they came (the watch holds the same dicts), never copied."""
        self._drop_pod(key)
        ns = (pod.get("metadata") or {}).get("namespace", "")
        facts = pod_facts(pod)
        self._where[key] = (ns, facts)
        self._pods.setdefault(ns, {})[key] = pod
        if facts is not None:
            self._facts.setdefault(ns, Counter())[facts] += 1
        self._dirty.add(ns)

    def take_rows(self) -> list[NamespaceRow] | None:
        """The rows sorted by name, or None when nothing changed since the last call."""
        with self._lock:
            if not self._changed:
                return None
            self._changed = False
            for name in self._dirty:
                ns = self._namespaces.get(name)
                if ns is None:
                    self._rows.pop(name, None)
                else:
                    self._rows[name] = row_from_facts(ns, self._facts.get(name, Counter()))
            self._dirty.clear()
            return [self._rows[n] for n in sorted(self._rows)]

    def labels(self, name: str) -> dict[str, str]:
        with self._lock:
            ns = self._namespaces.get(name) or {}
            return dict((ns.get("metadata") or {}).get("labels") or {})

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._pods.get(namespace, {}).values())
