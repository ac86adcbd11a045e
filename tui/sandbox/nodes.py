"""The sandbox's Node objects: ``sandbox``, ``sandbox-m02``, ... with loopback InternalIPs 127.0.0.1, .2, ...

Every 127/8 address is loopback on Linux, so each node has an address of its own that the data plane can
listen on, the way a nodePort answers on every node of a real cluster.
"""

from __future__ import annotations

import platform

from tui.sandbox.store import Obj, Store

FIRST_NODE = "sandbox"


def node_name(index: int) -> str:
    return FIRST_NODE if index == 0 else f"{FIRST_NODE}-m{index + 1:02d}"


def seed_nodes(store: Store, *, count: int, kubelet_version: str) -> None:
    """Create or refresh ``count`` Ready nodes; nodes beyond ``count`` left by a previous run go."""
    wanted = {node_name(i): i for i in range(count)}
    for name, index in wanted.items():
        node = node_object(name=name, ip=f"127.0.0.{index + 1}", index=index, kubelet_version=kubelet_version)
        if store.try_get("nodes", name, copy=False) is None:
            store.create("nodes", node)
            continue

        def refresh(o: Obj, status: Obj = node["status"]) -> None:
            o["status"] = status

        store.update("nodes", name, mutate=refresh)
    nodes, _ = store.list("nodes")
    for extra in [n for n in nodes if n["metadata"]["name"] not in wanted]:
        store.delete("nodes", extra["metadata"]["name"])


def node_object(*, name: str, ip: str, index: int, kubelet_version: str) -> Obj:
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                **({"node-role.kubernetes.io/control-plane": ""} if index == 0 else {}),
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                },
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "message": "kubelet has sufficient memory available",
                },
                {
                    "type": "DiskPressure",
                    "status": "False",
                    "reason": "KubeletHasNoDiskPressure",
                    "message": "kubelet has no disk pressure",
                },
                {
                    "type": "PIDPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientPID",
                    "message": "kubelet has sufficient PID available",
                },
            ],
            "nodeInfo": {
                "kubeletVersion": kubelet_version,
                "kubeProxyVersion": kubelet_version,
                "osImage": "istio-tui sandbox",
                "kernelVersion": platform.release(),
                "containerRuntimeVersion": "containerd://1.7.24",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": name,
                "systemUUID": name,
                "bootID": name,
            },
        },
    }
