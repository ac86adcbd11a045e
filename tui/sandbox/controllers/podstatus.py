"""How a container's spec decides its fate in the sandbox, and the pod conditions that follow from it."""

from __future__ import annotations

import re

from tui.sandbox.controllers.common import set_condition
from tui.sandbox.store import Obj


def full_image(image: str) -> str:
    """The reference a container runtime reports: ``nginx`` → ``docker.io/library/nginx:latest``."""
    first, sep, _ = image.partition("/")
    if not sep:
        name = f"docker.io/library/{image}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{image}"
    else:
        name = image
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def image_missing(image: str) -> bool:
    """The sandbox's stand-in for a failed pull: an image whose name says it does not exist."""
    return any(marker in image.lower() for marker in ("doesnotexist", "does-not-exist", "nonexistent"))


def crash_exit_code(container: Obj) -> int | None:
    """The exit code a container's command asks for (``exit 3``, ``false``), or None if it keeps running."""
    words = [str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]]
    if words and words[0].rsplit("/", 1)[-1] == "false":
        return 1
    m = re.search(r"\bexit\s+(\d+)", " ".join(words))
    if m is None or int(m.group(1)) == 0:
        return None
    return int(m.group(1))


def set_pod_conditions(status: Obj, now: str) -> None:
    """Derive Ready/ContainersReady from the container statuses, keeping unchanged transition times."""
    statuses = [
        *(
            cs
            for cs in status.get("initContainerStatuses") or []
            if "terminated" not in (cs.get("state") or {})
        ),
        *(status.get("containerStatuses") or []),
    ]
    unready = [str(cs.get("name")) for cs in statuses if not cs.get("ready")]
    init_done = all(
        "terminated" in (cs.get("state") or {}) or cs.get("started")
        for cs in status.get("initContainerStatuses") or []
    )
    conditions: list[Obj] = list(status.get("conditions") or [])
    wanted = {
        "PodReadyToStartContainers": True,
        "Initialized": init_done,
        "Ready": not unready,
        "ContainersReady": not unready,
        "PodScheduled": True,
    }
    for ctype, ok in wanted.items():
        cond: Obj = {
            "type": ctype,
            "status": "True" if ok else "False",
            "lastProbeTime": None,
            "lastTransitionTime": now,
        }
        if not ok and ctype in ("Ready", "ContainersReady"):
            cond.update(
                reason="ContainersNotReady", message=f"containers with unready status: [{' '.join(unready)}]"
            )
        if not ok and ctype == "Initialized":
            cond["reason"] = "ContainersNotInitialized"
        set_condition(conditions, cond, now)
    status["conditions"] = conditions
