"""Per-write field handling that needs the kind's schema: schema admission (``structural``) and field
ownership (``ssa``), with the request's ``fieldValidation``, ``fieldManager`` and ``force``.

Warnings (unknown fields under ``fieldValidation=Warn``) are left on the request for the dispatcher to send
as ``Warning`` headers, which kubectl prints.
"""

from __future__ import annotations

import threading

from aiohttp import web

from tui.sandbox import ssa, structural
from tui.sandbox.api.wire import Target, api_error
from tui.sandbox.resources import CRD_KEY
from tui.sandbox.schema import root_schema
from tui.sandbox.store import Obj, Store

WARNINGS = web.RequestKey("sandbox.warnings", list)


def manager_of(request: web.Request) -> str:
    """``fieldManager``, or the User-Agent's product name as the API server derives it."""
    explicit = request.query.get("fieldManager")
    if explicit:
        return explicit
    return (request.headers.get("User-Agent") or "unknown").split("/", 1)[0][:128] or "unknown"


def _mode(request: web.Request) -> str:
    mode = request.query.get("fieldValidation", "Warn")
    if mode not in ("Strict", "Warn", "Ignore"):
        raise api_error(
            400, "BadRequest", f'fieldValidation "{mode}" is invalid: must be Ignore, Warn or Strict'
        )
    return mode


class Fields:
    def __init__(self, *, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._custom: dict[tuple[str, str], tuple[str, Obj | None]] = {}

    def schema(self, t: Target) -> Obj | None:
        if t.rt.builtin:
            return root_schema(t.rt, t.version, None)
        crd = self.store.try_get(CRD_KEY, f"{t.rt.plural}.{t.rt.group}", copy=False)
        if crd is None:
            return None
        rv = str(crd["metadata"].get("resourceVersion"))
        with self._lock:
            hit = self._custom.get((t.rt.key, t.version))
        if hit is not None and hit[0] == rv:
            return hit[1]
        schema = root_schema(t.rt, t.version, crd)
        with self._lock:
            self._custom[(t.rt.key, t.version)] = (rv, schema)
        return schema

    def _check(self, request: web.Request, t: Target, obj: Obj, schema: Obj) -> None:
        warnings = structural.admit(t.rt, t.version, obj, schema, field_validation=_mode(request))
        if warnings:
            request.setdefault(WARNINGS, []).extend(warnings)

    def admit(self, request: web.Request, t: Target, obj: Obj, *, old: Obj | None) -> None:
        """Prune/default/validate ``obj`` (in place) and record the request's manager as an Update. A write
        that changes ``managedFields`` itself replaces them (kubectl does so to hand client-side-apply
        fields over to server-side apply), as the API server allows."""
        sent = (obj.get("metadata") or {}).pop("managedFields", None)
        schema = self.schema(t)
        if schema is None:
            return
        self._check(request, t, obj, schema)
        old_entries = ((old or {}).get("metadata") or {}).get("managedFields")
        if old is not None and isinstance(sent, list) and sent != old_entries:
            old = {**old, "metadata": {**old["metadata"], "managedFields": sent}}  # the client resets them
        ssa.record_update(
            old, obj, schema, manager=manager_of(request), api_version=t.api_version, subresource=t.sub or ""
        )

    def apply(self, request: web.Request, t: Target, live: Obj | None, config: Obj) -> Obj:
        """The object after a server-side apply of ``config`` (already checked for kind, name, namespace)."""
        manager = request.query.get("fieldManager")
        if not manager:
            message = (
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch"
            )
            raise api_error(422, "Invalid", message)
        schema = self.schema(t)
        if schema is None:
            schema = {"x-kubernetes-preserve-unknown-fields": True}
        else:
            self._check(request, t, config, schema)
        force = request.query.get("force", "").lower() in ("true", "1")
        return ssa.apply(
            live,
            config,
            schema,
            manager=manager,
            api_version=t.api_version,
            force=force,
            subresource=t.sub or "",
        )
