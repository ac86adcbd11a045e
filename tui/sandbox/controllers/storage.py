"""Volumes: a default StorageClass ``standard`` whose provisioner binds every claim at once.

A claim without ``storageClassName`` gets the default class (the DefaultStorageClass admission plugin);
then a PersistentVolume ``pvc-<uid>`` of the requested size is made and both turn ``Bound``, which is what
helm ``--wait`` and the StatefulSet's pods wait for. Deleting the claim deletes its volume (``Delete``
reclaim policy), as local-path provisioners do.
"""

from __future__ import annotations

import contextlib

from tui.errors import KubeError
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import meta, ns_name
from tui.sandbox.store import Obj

CLAIMS = "persistentvolumeclaims"
VOLUMES = "persistentvolumes"
CLASSES = "storageclasses.storage.k8s.io"
DEFAULT_CLASS = "standard"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
PROVISIONER = "sandbox.istio-tui.io/hostpath"


class VolumeController(Reconciler):
    key = CLAIMS
    component = PROVISIONER
    watches = frozenset({CLAIMS})

    def resync(self) -> None:
        if self.store.try_get(CLASSES, DEFAULT_CLASS, copy=False) is None:
            with contextlib.suppress(KubeError):
                self.store.create(
                    CLASSES,
                    {
                        "apiVersion": "storage.k8s.io/v1",
                        "kind": "StorageClass",
                        "metadata": {"name": DEFAULT_CLASS, "annotations": {DEFAULT_ANNOTATION: "true"}},
                        "provisioner": PROVISIONER,
                        "reclaimPolicy": "Delete",
                        "volumeBindingMode": "Immediate",
                        "allowVolumeExpansion": True,
                    },
                )
        super().resync()

    def admit(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if spec.get("storageClassName") is None:
            default = self._default_class()
            if default:
                spec["storageClassName"] = default
        obj.setdefault("status", {}).setdefault("phase", "Pending")

    def _default_class(self) -> str:
        classes, _ = self.store.list(CLASSES)
        for sc in classes:
            if (meta(sc).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true":
                return str(meta(sc)["name"])
        return ""

    def on_event(self, event_type: str, key: str, obj: Obj) -> None:
        volume = (obj.get("spec") or {}).get("volumeName")
        if event_type == "DELETED" and volume:
            with contextlib.suppress(KubeError):
                self.store.delete(VOLUMES, str(volume))
            return
        super().on_event(event_type, key, obj)

    def reconcile(self, claim: Obj) -> None:
        if (claim.get("status") or {}).get("phase") == "Bound":
            return
        ns, name = ns_name(claim)
        spec = claim.get("spec") or {}
        sc = self.store.try_get(CLASSES, str(spec.get("storageClassName") or ""), copy=False)
        if sc is None or sc.get("provisioner") != PROVISIONER:
            return
        size = str(((spec.get("resources") or {}).get("requests") or {}).get("storage") or "1Gi")
        modes = list(spec.get("accessModes") or ["ReadWriteOnce"])
        m = meta(claim)
        pv_name = f"pvc-{m['uid']}"
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": modes,
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                "storageClassName": meta(sc)["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
                "hostPath": {"path": f"/var/local-path-provisioner/{pv_name}_{ns}_{name}", "type": ""},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": ns,
                    "name": name,
                    "uid": m["uid"],
                },
            },
            "status": {"phase": "Bound"},
        }
        if self.store.try_get(VOLUMES, pv_name, copy=False) is None:
            self.store.create(VOLUMES, volume)

        def bind(o: Obj) -> None:
            o["spec"]["volumeName"] = pv_name
            annotations = o["metadata"].setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
            annotations["volume.kubernetes.io/storage-provisioner"] = PROVISIONER
            o["status"] = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}

        self.store.update(CLAIMS, name, namespace=ns, mutate=bind)
        self.emit(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}")
