"""The cronjob controller: a Job per schedule tick, history limits, and the status ``kubectl get cj`` shows.

Schedules are standard five-field cron lines (``*``, lists, ranges, ``*/n`` steps, ``@hourly``-style macros),
read in UTC unless ``spec.timeZone`` is set. A missed tick runs once when the sandbox comes back, like the
real controller with a ``startingDeadlineSeconds`` window; ``kubectl create job --from=cronjob/x`` works
against the generic API with no help from here.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import JOBS, as_int, meta, ns_name
from tui.sandbox.store import Obj

if TYPE_CHECKING:
    from tui.sandbox.controllers.manager import Controllers

CRONJOBS = "cronjobs.batch"
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_MAX_MISSED = 100


class CronError(ValueError):
    """A schedule line that is not standard cron."""


def parse_schedule(text: str) -> list[frozenset[int]]:
    """The allowed values of minute, hour, day of month, month and day of week (0 = Sunday)."""
    fields = _MACROS.get(text.strip(), text).split()
    if len(fields) != 5:
        raise CronError(f"schedule {text!r} does not have five fields")
    try:
        return [_field(f, lo, hi) for f, (lo, hi) in zip(fields, _RANGES, strict=True)]
    except ValueError as err:
        raise CronError(f"schedule {text!r}: {err}") from None


def _field(text: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 1
        if step_text and step_text != str(step):
            raise CronError(f"bad step in {part!r}")
        if base in ("*", "?"):
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = int(a), int(b)
        elif base.isdigit():
            start = int(base)
            end = hi if step_text else start
        else:
            raise CronError(f"bad value {part!r}")
        if hi == 6 and end == 7:  # 7 is Sunday too
            values.add(0)
            end = 6
        if not lo <= start <= end <= hi:
            raise CronError(f"{part!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def next_tick(fields: list[frozenset[int]], after: datetime) -> datetime | None:
    """The first matching minute strictly after ``after`` (in ``after``'s time zone)."""
    minute, hour, dom, month, dow = fields
    restricted_days = len(dom) < 31 and len(dow) < 7
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = t + timedelta(days=366 * 5)
    while t < limit:
        if t.month not in month:
            t = (t.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0)
            continue
        weekday = (t.weekday() + 1) % 7
        day_ok = (t.day in dom or weekday in dow) if restricted_days else (t.day in dom and weekday in dow)
        if not day_ok:
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if t.hour not in hour:
            t = (t + timedelta(hours=1)).replace(minute=0)
            continue
        if t.minute in minute:
            return t
        t += timedelta(minutes=1)
    return None


def latest_missed(fields: list[frozenset[int]], since: datetime, now: datetime) -> datetime | None:
    """The most recent tick in (since, now]: after downtime only the latest missed run happens."""
    last = None
    tick = next_tick(fields, since)
    for _ in range(_MAX_MISSED):
        if tick is None or tick > now:
            break
        last, tick = tick, next_tick(fields, tick)
    return last


def _parse_time(text: object) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CronJobController(Reconciler):
    key = CRONJOBS
    owner_kind = "CronJob"
    api_version = "batch/v1"
    watches = frozenset({CRONJOBS})

    def __init__(self, ctl: Controllers) -> None:
        super().__init__(ctl)
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}

    def admit(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)

    def reconcile(self, cj: Obj) -> None:
        spec = cj.get("spec") or {}
        try:
            fields = parse_schedule(str(spec.get("schedule", "")))
            zone = ZoneInfo(str(spec["timeZone"])) if spec.get("timeZone") else UTC
        except (CronError, ValueError, ZoneInfoNotFoundError):
            return
        jobs = self.owned(cj, JOBS)
        active = [j for j in jobs if not _finished(j)]
        now = datetime.now(UTC)
        status = cj.get("status") or {}
        since = (
            _parse_time(status.get("lastScheduleTime"))
            or _parse_time(meta(cj).get("creationTimestamp"))
            or now
        )
        due = latest_missed(fields, since.astimezone(zone), now)
        scheduled = None
        if due is not None and not spec.get("suspend"):
            policy = spec.get("concurrencyPolicy", "Allow")
            if policy == "Replace":
                for job in active:
                    self.remove(JOBS, job)
                active = []
            if not (policy == "Forbid" and active):
                created = self._create_job(cj, due)
                if created is not None:
                    active.append(created)
                    scheduled = due
        upcoming = next_tick(fields, now.astimezone(zone))
        self._trim(spec, [j for j in jobs if _finished(j)])
        self._status(cj, active, jobs, scheduled)
        if upcoming is not None:
            self._wake(ns_name(cj), max(0.5, (upcoming - now).total_seconds() + 0.5))

    def _create_job(self, cj: Obj, due: datetime) -> Obj | None:
        ns, name = ns_name(cj)
        template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        tmeta = template.get("metadata") or {}
        job_name = f"{name}-{int(due.timestamp()) // 60}"
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": ns,
                "labels": dict(tmeta.get("labels") or {}),
                "annotations": {**(tmeta.get("annotations") or {}), SCHEDULED_AT: _rfc3339(due)},
                "ownerReferences": [self.owner_ref(cj)],
            },
            "spec": template.get("spec") or {},
        }
        return self.create_owned(cj, JOBS, job, message=f"Created job {job_name}")

    def _trim(self, spec: Obj, finished: list[Obj]) -> None:
        for outcome, limit_field, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            done = sorted(
                (j for j in finished if _finished(j) == outcome),
                key=lambda j: str(meta(j).get("creationTimestamp", "")),
            )
            for job in done[: max(0, len(done) - as_int(spec.get(limit_field), default))]:
                self.remove(JOBS, job)

    def _status(self, cj: Obj, active: list[Obj], jobs: list[Obj], scheduled: datetime | None) -> None:
        succeeded = [
            str((j.get("status") or {}).get("completionTime") or "")
            for j in jobs
            if _finished(j) == "Complete"
        ]

        def mutate(o: Obj) -> None:
            st = o.setdefault("status", {})
            refs = [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "namespace": meta(j).get("namespace"),
                    "name": meta(j)["name"],
                    "uid": meta(j).get("uid"),
                }
                for j in active
            ]
            if refs:
                st["active"] = refs
            else:
                st.pop("active", None)
            if scheduled is not None:
                st["lastScheduleTime"] = _rfc3339(scheduled)
            if any(succeeded):
                st["lastSuccessfulTime"] = max(succeeded)

        ns, name = ns_name(cj)
        self.store.update(CRONJOBS, name, namespace=ns, mutate=mutate)

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _wake(self, ident: tuple[str, str], delay: float) -> None:
        old = self._timers.pop(ident, None)
        if old is not None:
            old.cancel()
        self._timers[ident] = self.ctl.loop.call_later(min(delay, 3600.0), self.ctl.mark, CRONJOBS, *ident)


def _finished(job: Obj) -> str:
    """``Complete`` or ``Failed`` once the Job has that condition, else ``""``."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return ""
