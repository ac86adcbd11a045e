"""Pod placement over the sandbox's Node objects: a pod that names its node (DaemonSet pods) goes there,
any other pod to the Ready node running the fewest pods, so a Deployment's replicas spread out.

Nodes carry ``InternalIP`` addresses (``127.0.0.1``, ``127.0.0.2``, ...: all loopback on Linux), and a pod's
``status.hostIP`` is its node's, which is where the data plane listens for that node's nodePorts.
"""

from __future__ import annotations

from tui.sandbox.controllers.common import meta, ns_name
from tui.sandbox.store import Obj, Store

DEFAULT_NODE = "sandbox"
DEFAULT_IP = "127.0.0.1"


def node_ip(node: Obj) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            return str(addr.get("address"))
    return DEFAULT_IP


def node_ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ready_nodes(store: Store, *, cordoned: bool = False) -> list[Obj]:
    """Ready nodes; ``cordoned`` keeps unschedulable ones too (DaemonSet pods tolerate a cordon)."""
    nodes, _ = store.list("nodes")
    return [
        n for n in nodes if node_ready(n) and (cordoned or not (n.get("spec") or {}).get("unschedulable"))
    ]


def pinned_node(pod: Obj) -> str:
    """The node a pod asks for: ``spec.nodeName``, or the DaemonSet controller's node affinity."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    for term in required:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and field.get("values"):
                return str(field["values"][0])
    return ""


class Scheduler:
    """Places pods; counts the live pods on each node (kept current by the kubelet), O(nodes) per pod."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._placed: dict[tuple[str, str], str] = {}
        self._load: dict[str, int] = {}

    def place(self, pod: Obj) -> tuple[str, str]:
        """``(nodeName, hostIP)`` for a pod being scheduled."""
        chosen = pinned_node(pod)
        if not chosen:
            names = [str(meta(n)["name"]) for n in ready_nodes(self.store)]
            chosen = min(names, key=lambda n: (self._load.get(n, 0), n)) if names else DEFAULT_NODE
        self._assign(ns_name(pod), chosen)
        return chosen, self.host_ip(chosen)

    def host_ip(self, node_name: str) -> str:
        node = self.store.try_get("nodes", node_name, copy=False)
        return node_ip(node) if node is not None else DEFAULT_IP

    def track(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self._assign(ns_name(pod), str(node))

    def forget(self, pod: Obj) -> None:
        node = self._placed.pop(ns_name(pod), None)
        if node is not None:
            self._load[node] -= 1

    def _assign(self, ident: tuple[str, str], node: str) -> None:
        previous = self._placed.get(ident)
        if previous is not None:
            self._load[previous] -= 1
        self._placed[ident] = node
        self._load[node] = self._load.get(node, 0) + 1
