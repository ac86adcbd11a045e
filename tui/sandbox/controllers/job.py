"""The job controller: run pods until ``completions`` succeed or ``backoffLimit`` failures, then a condition.

``kubectl wait --for=condition=complete`` and helm ``--wait-for-jobs`` read the conditions and counts.
"""

from __future__ import annotations

import contextlib
import json

from tui.errors import KubeError
from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import (
    JOBS,
    TERMINAL,
    as_int,
    meta,
    pod_from_template,
    pod_ready,
    set_condition,
)
from tui.sandbox.store import Obj, now_rfc3339


class JobController(Reconciler):
    key = JOBS
    owner_kind = "Job"
    watches = frozenset({JOBS})

    def admit(self, job: Obj) -> None:
        m = meta(job)
        uid, name = str(m.get("uid", "")), str(m.get("name", ""))
        spec = job.setdefault("spec", {})
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            labels.update(
                {
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                }
            )
        spec.setdefault("template", {}).setdefault("spec", {}).setdefault("restartPolicy", "Never")

    def sync(self, ns: str, name: str) -> None:
        job = self.store.try_get(JOBS, name, namespace=ns, copy=False)
        if job is None:
            return
        uid = str(meta(job)["uid"])
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        completions = as_int(spec.get("completions"), 1)
        parallelism = as_int(spec.get("parallelism"), 1)
        pods = self.ctl.gc.owned(uid, "pods")
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in TERMINAL]
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        failed_out = failed > as_int(spec.get("backoffLimit"), 6)
        if not finished and not failed_out and not spec.get("suspend"):
            want = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(0, want)):
                pod = pod_from_template(job, spec.get("template") or {}, api_version="batch/v1", kind="Job")
                with contextlib.suppress(KubeError):
                    created = self.store.create("pods", pod)
                    active.append(created)
                    self.ctl.events.emit(
                        job,
                        "SuccessfulCreate",
                        f"Created pod: {meta(created)['name']}",
                        component="job-controller",
                    )
        ready = sum(1 for p in active if pod_ready(p))
        complete = succeeded >= completions

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            now = now_rfc3339()
            st.setdefault("startTime", now)
            st["active"] = len(active)
            st["ready"] = ready
            if not st["active"]:
                st.pop("active")
            st["succeeded"] = succeeded
            if failed:
                st["failed"] = failed
            st["terminating"] = 0
            st["uncountedTerminatedPods"] = {}
            outcome = {"type": "Complete"} if complete else None
            if failed_out and not complete:
                outcome = {
                    "type": "Failed",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            if outcome is not None:
                if complete:
                    st.setdefault("completionTime", now)
                conditions = list(st.get("conditions") or [])
                first = {"type": "SuccessCriteriaMet" if complete else "FailureTarget"}
                for cond in (first | {k: v for k, v in outcome.items() if k != "type"}, outcome):
                    set_condition(
                        conditions,
                        {**cond, "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                        now,
                    )
                st["conditions"] = conditions
            if not succeeded:
                st.pop("succeeded")

        before = json.dumps(status, sort_keys=True)
        after = self.store.update(JOBS, name, namespace=ns, mutate=mutate)
        if not finished and json.dumps(after.get("status"), sort_keys=True) != before:
            if complete:
                self.ctl.events.emit(job, "Completed", "Job completed", component="job-controller")
            elif failed_out:
                self.ctl.events.emit(
                    job,
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    component="job-controller",
                    type_="Warning",
                )
