"""The job controller: run pods until ``completions`` succeed or ``backoffLimit`` failures, then a condition.

``kubectl wait --for=condition=complete`` and helm ``--wait-for-jobs`` read the conditions and counts.
"""

from __future__ import annotations

import json

from tui.sandbox.controllers.base import PodOwner
from tui.sandbox.controllers.common import JOBS, TERMINAL, as_int, meta, ns_name, pod_ready, set_condition
from tui.sandbox.procs import COMPLETION_INDEX
from tui.sandbox.store import Obj, now_rfc3339

BACKOFF_MESSAGE = "Job has reached the specified backoff limit"


class JobController(PodOwner):
    key = JOBS
    owner_kind = "Job"
    api_version = "batch/v1"
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

    def reconcile(self, job: Obj) -> None:
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        completions = as_int(spec.get("completions"), 1)
        parallelism = as_int(spec.get("parallelism"), 1)
        pods = self.owned(job, "pods")
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
                pod = self.new_pod(job)
                if spec.get("completionMode") == "Indexed":
                    _set_completion_index(pod, pods + active, completions)
                created = self.create_pod(job, pod)
                if created is not None:
                    active.append(created)
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
                    "message": BACKOFF_MESSAGE,
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
        ns, name = ns_name(job)
        after = self.store.update(JOBS, name, namespace=ns, mutate=mutate)
        if not finished and json.dumps(after.get("status"), sort_keys=True) != before:
            if complete:
                self.emit(job, "Completed", "Job completed")
            elif failed_out:
                self.emit(job, "BackoffLimitExceeded", BACKOFF_MESSAGE, type_="Warning")


def _set_completion_index(pod: Obj, siblings: list[Obj], completions: int) -> None:
    """Indexed Jobs: the lowest index no pod holds (a failed pod's index is given again), as annotation and
    label, like the Job controller; the kubelet hands it to the container as ``JOB_COMPLETION_INDEX``."""
    taken = {
        str(meta(p).get("annotations", {}).get(COMPLETION_INDEX))
        for p in siblings
        if (p.get("status") or {}).get("phase") != "Failed"
    }
    index = next((str(i) for i in range(completions) if str(i) not in taken), str(completions - 1))
    m = pod["metadata"]
    m.setdefault("annotations", {})[COMPLETION_INDEX] = index
    m.setdefault("labels", {})[COMPLETION_INDEX] = index
