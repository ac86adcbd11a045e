"""Helpers every simulated controller shares: object metadata, owner references, templates and conditions."""

from __future__ import annotations

import copy
import json
from typing import Any

from tui.sandbox.store import Obj

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
JOBS = "jobs.batch"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
TERMINAL = ("Succeeded", "Failed")
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Any, collisions: int = 0) -> str:
    """The ``pod-template-hash``: FNV-1a of the template, encoded like Kubernetes' SafeEncodeString."""
    data = json.dumps(canonical(template), sort_keys=True, separators=(",", ":")).encode()
    if collisions:
        data += str(collisions).encode()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(h))


def meta(obj: Obj) -> Obj:
    found: Obj = obj.get("metadata") or {}
    return found


def ns_name(obj: Obj) -> tuple[str, str]:
    m = meta(obj)
    return str(m.get("namespace") or ""), str(m["name"])


def controller_uid(obj: Obj) -> str | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def owner_ref(owner: Obj, *, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta(owner)["name"],
        "uid": meta(owner)["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def strip_hash(template: Any) -> Any:
    t = copy.deepcopy(template) if isinstance(template, dict) else {}
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def canonical(value: Any) -> Any:
    """A template as typed Go structs see it: null, {} and [] are the same as absent."""
    if isinstance(value, dict):
        out = {k: canonical(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def templates_equal(rs_template: Any, dep_template: Any) -> bool:
    return bool(canonical(strip_hash(rs_template)) == canonical(dep_template))


def as_int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def int_str(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def resolve_int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        scaled = int(value[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return 0


def pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_live(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in TERMINAL


def set_condition(conditions: list[Obj], new: Obj, now: str) -> None:
    """Insert or update a condition, keeping its transition time while its status stays the same."""
    for i, cond in enumerate(conditions):
        if cond.get("type") == new["type"]:
            same = cond.get("status") == new["status"]
            merged = {**new}
            for stamp in ("lastTransitionTime", "lastProbeTime"):
                if new.get(stamp):
                    merged[stamp] = cond.get(stamp, now) if same else now
            if "lastUpdateTime" in new:
                unchanged = same and cond.get("reason") == new.get("reason")
                merged["lastUpdateTime"] = cond.get("lastUpdateTime", now) if unchanged else now
            conditions[i] = merged
            return
    conditions.append({**new})


def pod_from_template(owner: Obj, template: Obj, *, api_version: str, kind: str, name: str = "") -> Obj:
    """A pod as a workload controller creates it; ``name`` fixes it (StatefulSet), else ``generateName``."""
    m = meta(owner)
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {
        "namespace": m.get("namespace", ""),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [owner_ref(owner, api_version=api_version, kind=kind)],
    }
    if name:
        pod_meta["name"] = name
    else:
        pod_meta["generateName"] = f"{m['name']}-"
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
