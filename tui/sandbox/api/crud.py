"""Create, get, list, update, patch and delete of any served resource, with the ``scale`` and ``status``
subresources and SelfSubjectAccessReview. Every answer is an object or a Status, as the apiserver sends."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tui.errors import KubeError
from tui.sandbox import tables, validation
from tui.sandbox.api.body import decode_off_loop, read_body
from tui.sandbox.api.encode import Encoder
from tui.sandbox.api.fields import Fields
from tui.sandbox.api.paging import Pager, parse_limit
from tui.sandbox.api.wire import (
    Target,
    api_error,
    bad_request,
    dry_run,
    dumps,
    json_response,
    parse_rv,
    present,
    raw_json,
    selectors_of,
    wants_table,
)
from tui.sandbox.jsonfast import deep_copy
from tui.sandbox.resources import STATUS_OWNED
from tui.sandbox.store import Obj, Store, conflict, not_found, too_large


class Crud:
    def __init__(self, *, store: Store, encoder: Encoder, allowed: Callable[..., bool]) -> None:
        self.fields = Fields(store=store)
        self.store = store
        self.encoder = encoder
        self.allowed = allowed
        self.pager = Pager()

    def get(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        obj = self.store.get(t.rt.key, t.name, namespace=t.namespace or "", copy=False)
        if t.sub == "scale":
            return json_response(scale_of(t, obj))
        obj = present(t, obj)
        if wants_table(request):
            return json_response(tables.table(t.rt, [obj], resource_version=self.store.resource_version))
        return json_response(obj)

    def list_items(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = selectors_of(request)
        q = request.query
        limit = parse_limit(q.get("limit"))
        token = q.get("continue", "")
        asked = parse_rv(q.get("resourceVersion", ""))
        selectors = (q.get("labelSelector", ""), q.get("fieldSelector", ""))
        scope = "\x00".join((t.rt.key, t.namespace or "", *selectors))
        if token:
            if asked:
                raise bad_request("specifying resource version is not allowed when using continue")
            page, rv = self.pager.next(
                scope=scope,
                token=token,
                limit=limit,
                oldest_rv=self.store.oldest_rv,
                relist=lambda: self._select(t, ls, fs),
            )
        else:
            if asked > int(self.store.resource_version):
                raise too_large(asked, int(self.store.resource_version))
            items, rv = self._select(t, ls, fs)
            page = self.pager.first(scope=scope, rv=rv, items=items, limit=limit)
        meta: Obj = {"resourceVersion": rv}
        if page.continue_token:
            meta["continue"] = page.continue_token
            if ls is None and fs is None and page.remaining:
                meta["remainingItemCount"] = page.remaining
        if wants_table(request):
            defs, row = tables.layout(t.rt)
            head = dumps(
                {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs}
            )
            age_at = next((i for i, d in enumerate(defs) if d["name"] == "Age"), None)
            cacheable = tables.rows_cacheable(t.rt) and age_at is not None
            rows = [self.encoder.table_row(t, o, row, age_at if cacheable else None) for o in page.items]
            return raw_json(head[:-1] + b',"rows":[' + b",".join(rows) + b"]}")
        head = dumps({"kind": t.rt.list_kind, "apiVersion": t.api_version, "metadata": meta})
        encoded = self.encoder.encoded_list(t, page.items)
        return raw_json(b"".join((head[:-1], b',"items":[', encoded, b"]}")))

    def _select(self, t: Target, ls: Any, fs: Any) -> tuple[list[Obj], str]:
        return self.store.list(t.rt.key, namespace=t.namespace, label_selector=ls, field_selector=fs)

    def _prepare(self, t: Target, body: Any, *, name: str | None) -> Obj:
        """Check kind/apiVersion/namespace/name of a written object and normalise them."""
        if not isinstance(body, dict):
            raise bad_request(f"the request body must be a JSON object, not {type(body).__name__}")
        kind = body.get("kind")
        if kind and kind != t.rt.kind:
            raise bad_request(
                f"the kind in the body ({kind}) does not match the kind of the URL ({t.rt.kind})"
            )
        api_version = body.get("apiVersion")
        if api_version and api_version.rpartition("/")[0] != t.rt.group:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({t.api_version})"
            )
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        for field in ("name", "generateName", "namespace", "resourceVersion", "uid"):
            if meta.get(field) is not None and not isinstance(meta[field], str):
                raise bad_request(
                    f'{t.rt.kind} in version "{t.version}" cannot be handled as a {t.rt.kind}: '
                    f"metadata.{field} must be a string, not {type(meta[field]).__name__}"
                )
        body["kind"] = t.rt.kind
        body["apiVersion"] = t.api_version
        if t.rt.namespaced:
            ns = t.namespace or meta.get("namespace")
            if meta.get("namespace") and t.namespace and meta["namespace"] != t.namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            if not ns:
                raise bad_request("a namespace is required for a namespaced resource")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") and meta["name"] != name:
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
        meta.pop("selfLink", None)
        return body

    async def create(self, request: web.Request, t: Target) -> web.StreamResponse:
        body = await read_body(request)
        if t.rt.key == "selfsubjectaccessreviews.authorization.k8s.io":
            return self._access_review(t, body)
        obj = self._prepare(t, body, name=None)
        self.fields.admit(request, t, obj, old=None)
        validation.validate(t.rt, obj, create=True)
        if dry_run(request):
            return json_response(obj, status=201)
        created = self.store.create(t.rt.key, obj, copy=False)  # obj is the just-decoded body
        return raw_json(self.encoder.encoded(t, created), status=201)

    def _access_review(self, t: Target, body: Any) -> web.StreamResponse:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        ok = self.allowed(
            resource=str(attrs.get("resource") or ""),
            namespace=str(attrs.get("namespace") or ""),
            verb=str(attrs.get("verb") or ""),
            group=str(attrs.get("group") or ""),
        )
        status: Obj = {"allowed": ok}
        if not ok:
            status.update(denied=True, reason="forbidden by the sandbox")
        result = {
            "kind": t.rt.kind,
            "apiVersion": t.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
            "status": status,
        }
        return json_response(result, status=201)

    def _merge_subresource(self, t: Target, old: Obj, new: Obj) -> Obj:
        """What a write through ``t`` may change: only status for /status, everything but status otherwise."""
        if t.sub == "status":
            return {
                **old,
                "status": new.get("status"),
                "metadata": {
                    **old["metadata"],
                    **{k: v for k, v in (new.get("metadata") or {}).items() if k in ("resourceVersion",)},
                },
            }
        if t.rt.key in STATUS_OWNED or (not t.rt.builtin and "status" in t.rt.subresources):
            merged = dict(new)
            if "status" in old:
                merged["status"] = old["status"]
            else:
                merged.pop("status", None)
            return merged
        return new

    async def replace(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        body = await read_body(request)
        key, ns = t.rt.key, t.namespace or ""
        if t.sub == "scale":
            if not isinstance(body, dict):
                raise bad_request("the request body must be a Scale object")
            replicas = (body.get("spec") or {}).get("replicas")
            return self._set_scale(t, replicas)
        obj = self._prepare(t, body, name=t.name)
        old = self.store.get(key, t.name, namespace=ns, copy=False)
        sent_rv = obj["metadata"].get("resourceVersion")
        if sent_rv and str(sent_rv) != old["metadata"]["resourceVersion"]:
            raise conflict(key, t.name)
        obj = self._merge_subresource(t, old, obj)
        self.fields.admit(request, t, obj, old=old)
        validation.validate(t.rt, obj, create=False)
        if dry_run(request):
            return json_response(obj)
        result = self.store.replace(key, obj, check_rv=True)
        return json_response(present(t, result))

    def _set_scale(self, t: Target, replicas: Any) -> web.StreamResponse:
        assert t.name is not None
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise validation.invalid_field(
                t.rt, t.name, "spec.replicas", "Invalid value: must be greater than or equal to 0"
            )

        def mutate(o: Obj) -> None:
            o.setdefault("spec", {})["replicas"] = replicas

        obj = self.store.update(t.rt.key, t.name, namespace=t.namespace or "", mutate=mutate)
        return json_response(scale_of(t, obj))

    async def patch(self, request: web.Request, t: Target) -> web.StreamResponse:
        from tui.sandbox import patch

        assert t.name is not None
        ctype = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        key, ns, name = t.rt.key, t.namespace or "", t.name
        if ctype not in (patch.MERGE, patch.JSON_PATCH, patch.STRATEGIC, patch.APPLY):
            raise patch.unsupported_media_type(ctype or "(none)", kind=t.rt.kind)
        data = await decode_off_loop(await request.read(), yaml_ok=ctype == patch.APPLY)

        def patched(current: Obj, kind: str, builtin: bool) -> Obj:
            try:
                return patch.apply_patch(current, data, ctype, kind=kind, builtin=builtin)
            except patch.PatchFailed as err:
                raise api_error(422, "Invalid", str(err)) from err
            except ValueError as err:
                raise bad_request(str(err)) from err

        if t.sub == "scale":
            current_scale = scale_of(t, self.store.get(key, name, namespace=ns, copy=False))
            new_scale = patched(current_scale, "Scale", True)
            return self._set_scale(t, (new_scale.get("spec") or {}).get("replicas"))
        existing = self.store.try_get(key, name, namespace=ns, copy=False)
        if existing is None:
            if ctype != patch.APPLY or t.sub is not None:
                raise not_found(key, name)
            obj = self.fields.apply(
                request, t, None, self._prepare(t, patched({}, t.rt.kind, t.rt.builtin), name=name)
            )
            validation.validate(t.rt, obj, create=True)
            if dry_run(request):
                return json_response(obj, status=201)
            return json_response(present(t, self.store.create(key, obj)), status=201)

        def mutate(current: Obj) -> Obj:
            if ctype == patch.APPLY:
                return self._server_side_apply(request, t, current, patched({}, t.rt.kind, t.rt.builtin))
            result = patched(current, t.rt.kind, t.rt.builtin)
            if not isinstance(result, dict):
                raise bad_request("the patch must produce an object")
            rv = (result.get("metadata") or {}).get("resourceVersion")
            if rv and str(rv) != current["metadata"]["resourceVersion"]:
                raise conflict(key, name)
            meta = result.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise bad_request("metadata must be an object")
            if meta.get("name", name) != name:
                raise bad_request(f"the name of the object cannot be changed by a patch (from {name})")
            meta["name"] = name
            result = self._prepare(t, result, name=name)
            result = self._merge_subresource(t, current, result)
            self.fields.admit(request, t, result, old=current)
            validation.validate(t.rt, result, create=False)
            return result

        if dry_run(request):
            draft = deep_copy(existing)
            return json_response(present(t, mutate(draft)))
        result = self.store.update(key, name, namespace=ns, mutate=mutate)
        return json_response(present(t, result))

    def _server_side_apply(self, request: web.Request, t: Target, current: Obj, config: Obj) -> Obj:
        assert t.name is not None
        rv = (config.get("metadata") or {}).get("resourceVersion")
        if rv and str(rv) != current["metadata"]["resourceVersion"]:
            raise conflict(t.rt.key, t.name)
        applied = self.fields.apply(request, t, current, self._prepare(t, config, name=t.name))
        applied = self._merge_subresource(t, current, applied)
        validation.validate(t.rt, applied, create=False)
        return applied

    async def delete(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        if request.can_read_body and (await request.read()).strip():
            options = await read_body(request)  # DeleteOptions: checked; propagationPolicy is not needed
            if not isinstance(options, dict):
                raise bad_request("the DeleteOptions body must be a JSON object")
        if dry_run(request):
            return json_response(present(t, self.store.get(t.rt.key, t.name, namespace=t.namespace or "")))
        obj = self.store.delete(t.rt.key, t.name, namespace=t.namespace or "")
        return json_response(present(t, obj))

    def delete_collection(self, request: web.Request, t: Target) -> web.StreamResponse:
        ls, fs = selectors_of(request)
        items, _ = self.store.list(t.rt.key, namespace=t.namespace, label_selector=ls, field_selector=fs)
        deleted = []
        for o in items:
            meta = o["metadata"]
            with contextlib.suppress(KubeError):
                deleted.append(
                    present(
                        t, self.store.delete(t.rt.key, meta["name"], namespace=meta.get("namespace") or "")
                    )
                )
        return json_response(
            {
                "kind": t.rt.list_kind,
                "apiVersion": t.api_version,
                "metadata": {"resourceVersion": self.store.resource_version},
                "items": deleted,
            }
        )


def scale_of(t: Target, obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector") or {}
    labels = selector.get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }
