"""The defaults the apiserver gives a new pod: what ``kubectl get pod -o yaml`` shows beyond the manifest."""

from __future__ import annotations

from tui.sandbox.store import Obj


def pod_defaults(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not isinstance(c, dict):
            continue
        image = str(c.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    has_requests = any((c.get("resources") or {}).get("requests") for c in containers)
    has_limits = any((c.get("resources") or {}).get("limits") for c in containers)
    qos = "Burstable" if has_requests or has_limits else "BestEffort"
    pod["status"] = {"phase": "Pending", "qosClass": qos}
