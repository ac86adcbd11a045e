"""Gateway API routes their parents did not accept, with the reason the controller wrote in the status."""

from __future__ import annotations

from collections.abc import Iterator

from tui.istio.analysis.model import Finding, Snapshot, finding

ROUTE_NOT_ACCEPTED = "IT0701"


def check_routes(snapshot: Snapshot) -> Iterator[Finding]:
    for route in snapshot.http_routes:
        for i, parent in enumerate((route.get("status") or {}).get("parents") or ()):
            ref = parent.get("parentRef") or {}
            for cond in parent.get("conditions") or ():
                if cond.get("type") not in ("Accepted", "ResolvedRefs") or cond.get("status") != "False":
                    continue
                kind = ref.get("kind") or "Gateway"
                where = (
                    f"{kind} {ref.get('namespace') or route['metadata'].get('namespace')}/{ref.get('name')}"
                )
                reason = cond.get("reason") or "no reason given"
                detail = f": {cond.get('message')}" if cond.get("message") else ""
                verb = "did not accept" if cond["type"] == "Accepted" else "could not resolve the backends of"
                yield finding(
                    route,
                    code=ROUTE_NOT_ACCEPTED,
                    level="error",
                    message=f"{where} {verb} this route ({reason}{detail})",
                    fix="fix what the reason names (listener hostname, allowedRoutes, sectionName, backend "
                    "Service and port), then check kubectl get httproute -o yaml status.parents",
                    path=("status", "parents", i, "conditions"),
                )
