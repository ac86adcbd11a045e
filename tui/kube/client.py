"""``Cluster``: one kubeconfig context and its typed calls, all over one raw-path code path.

Built-in and custom resources share ``ApiClient.call_api`` with unparsed responses, which also keeps the
sandbox honest: it must answer exactly what a real API server answers. Every failure raises a subclass of
``tui.errors.KubeError`` (or ``ConfigError``); no ``kubernetes`` or ``urllib3`` exception escapes.
"""

from __future__ import annotations

import builtins
import contextlib
import http.client
import json
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import OpenApiException
from kubernetes.config.config_exception import ConfigException

from tui.errors import ConfigError, Invalid, KubeError, NotFound, Unreachable
from tui.kube.config import load_configuration
from tui.kube.errors import describe_transport_error, one_line, status_error
from tui.kube.logs import LogFollow, log_query
from tui.kube.resources import BUILTINS, DEPLOYMENTS, PODS, ClusterInfo, Obj, ObjectList, PatchType, Resource
from tui.kube.watch import Watch

FIELD_MANAGER = "istio-tui"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0

_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class Cluster:
    """One kubeconfig context.

    ``context`` is the resolved context name and ``kubeconfig`` the file(s) it came from (what helm's
    ``--kube-context``/``--kubeconfig`` need); ``namespace`` is the context's namespace, used by ``apply`` for
    documents that name none.
    """

    context: str
    server: str

    def __init__(
        self,
        *,
        configuration: k8s_client.Configuration,
        context: str,
        namespace: str = "default",
        kubeconfig: str = "",
    ) -> None:
        """Prefer ``from_kubeconfig``; this takes an already loaded client configuration."""
        self.context = context
        self.server = str(configuration.host)
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        configuration.retries = urllib3.Retry(
            total=2, connect=0, read=1, redirect=0, status=0, other=0, raise_on_status=False
        )
        configuration.connection_pool_maxsize = 32
        if not configuration.verify_ssl:
            # The user chose insecure-skip-tls-verify; a warning per request would scribble over the TUI.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._api = k8s_client.ApiClient(configuration)
        self._api.user_agent = "istio-tui"
        self._discovery: dict[str, dict[str, Resource]] = {}
        self._discovery_lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, *, path: str | None = None, context: str | None = None) -> Cluster:
        """Load (exec plugins included). ConfigError for a missing/malformed file or an unknown context."""
        loaded = load_configuration(path=path, context=context)
        return cls(
            configuration=loaded.configuration,
            context=loaded.facts.context,
            namespace=loaded.facts.namespace,
            kubeconfig=loaded.kubeconfig,
        )

    def close(self) -> None:
        """Drop pooled connections (for tests and shutdown; the object stays usable)."""
        with contextlib.suppress(Exception):
            self._api.rest_client.close()

    def _open(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        read_timeout: float = READ_TIMEOUT,
        what: str,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; return the unread urllib3 response (any status)."""
        headers = {"Accept": accept, "Content-Type": content_type}
        if body is not None:
            try:
                json.dumps(body)
            except (TypeError, ValueError) as exc:
                raise Invalid(f"{what}: the request body is not JSON: {one_line(str(exc))}") from None
        try:
            method, url, headers, body, _ = self._api.param_serialize(
                method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            if query:
                url += "?" + urlencode(query)
            timeout = (CONNECT_TIMEOUT, read_timeout)
            resp = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        except (OpenApiException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise self._unreachable(exc) from None
        except ConfigException as exc:
            raise ConfigError(
                f"context '{self.context}': refreshing the credentials failed: {one_line(str(exc))}",
                hint="log in again",
            ) from None
        raw: urllib3.BaseHTTPResponse = resp.response
        return raw

    def _unreachable(self, exc: BaseException) -> Unreachable:
        reason = describe_transport_error(exc)
        if reason.startswith("TLS"):
            hint = "check the cluster's certificate-authority-data and the server URL in the kubeconfig"
        elif "DNS" in reason:
            hint = "check the server URL in the kubeconfig"
        else:
            hint = "check that the cluster is running and the context is right"
        return Unreachable(f"cannot reach the API server at {self.server}: {reason}", hint=hint)

    def _error(self, code: int, body: bytes, *, what: str) -> KubeError:
        return status_error(code, body, server=self.server, context=self.context, what=what)

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> bytes:
        resp = self._open(method, path, what=what, **kwargs)
        try:
            body = resp.read()
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise Unreachable(
                f"the API server at {self.server} broke off the answer to {what}: "
                f"{describe_transport_error(exc)}"
            ) from None
        finally:
            resp.release_conn()
        if resp.status >= 300:
            raise self._error(resp.status, body, what=what)
        return bytes(body)

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> Obj:
        data = self._call(method, path, what=what, **kwargs)
        if not data:
            return {}
        try:
            parsed = json.loads(data)
        except ValueError:
            raise KubeError(f"{what}: the API server at {self.server} did not answer JSON") from None
        if not isinstance(parsed, dict):
            raise KubeError(f"{what}: the API server at {self.server} answered JSON that is not an object")
        return parsed

    @staticmethod
    def _group_path(res: Resource) -> str:
        return f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"

    def _collection_path(self, res: Resource, namespace: str | None) -> str:
        base = self._group_path(res)
        if res.namespaced and namespace:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{res.plural}"
        return f"{base}/{res.plural}"

    def _object_path(self, res: Resource, name: str, namespace: str | None) -> str:
        if not name:
            raise Invalid(f"a {res.kind} needs a name")
        if res.namespaced and not namespace:
            raise Invalid(f"{res.kind} {name} needs a namespace")
        return f"{self._collection_path(res, namespace)}/{quote(name, safe='')}"

    @staticmethod
    def _fill_kind(res: Resource, obj: Obj) -> Obj:
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.api_version)
        return obj

    def info(self) -> ClusterInfo:
        """GET /version. Raises Unreachable/Unauthorized."""
        data = self._json("GET", "/version", what="GET /version")
        git_version = str(data.get("gitVersion") or "")

        def num(key: str) -> int:
            digits = re.match(r"\d+", str(data.get(key) or ""))
            return int(digits.group(0)) if digits else 0

        return ClusterInfo(
            context=self.context,
            server=self.server,
            git_version=git_version,
            major=num("major"),
            minor=num("minor"),
        )

    def has_api(self, group_version: str) -> bool:
        """True if discovery serves e.g. "admissionregistration.k8s.io/v1"."""
        try:
            self._discover(group_version, refresh=True)
        except NotFound:
            return False
        return True

    def _discover(self, group_version: str, *, refresh: bool = False) -> dict[str, Resource]:
        with self._discovery_lock:
            cached = self._discovery.get(group_version)
        if cached is not None and not refresh:
            return cached
        group, _, version = group_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        data = self._json("GET", path, what=f"discovery of {group_version}")
        found: dict[str, Resource] = {}
        for item in data.get("resources") or []:
            name = str(item.get("name") or "")
            if not name or "/" in name:
                continue
            kind = str(item.get("kind") or "")
            found.setdefault(kind, Resource(group, version, name, kind, bool(item.get("namespaced"))))
        with self._discovery_lock:
            self._discovery[group_version] = found
        return found

    def resource_for(self, *, api_version: str, kind: str) -> Resource:
        """Map apiVersion+kind to a Resource (built-ins from the table above, others through discovery)."""
        builtin = BUILTINS.get((api_version, kind))
        if builtin is not None:
            return builtin
        for refresh in (False, True):
            try:
                found = self._discover(api_version, refresh=refresh).get(kind)
            except NotFound:
                found = None
            if found is not None:
                return found
        raise NotFound(
            f'the server has no resource for kind "{kind}" in version "{api_version}"',
            hint="install its CRD first, or check apiVersion and kind",
            code=404,
            reason="NotFound",
        )

    def get(self, res: Resource, name: str, *, namespace: str | None = None) -> Obj:
        path = self._object_path(res, name, namespace)
        return self._fill_kind(res, self._json("GET", path, what=f"get {res.kind} {name}"))

    def list(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        """namespace=None on a namespaced resource lists across all namespaces."""
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        data = self._json(
            "GET", self._collection_path(res, namespace), query=query, what=f"list {res.plural}"
        )
        items = [self._fill_kind(res, item) for item in data.get("items") or []]
        rv = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return ObjectList(items=items, resource_version=rv)

    def create(self, res: Resource, body: Obj, *, namespace: str | None = None) -> Obj:
        ns = namespace or (body.get("metadata") or {}).get("namespace") if res.namespaced else None
        if res.namespaced and not ns:
            raise Invalid(f"creating a {res.kind} needs a namespace")
        name = (body.get("metadata") or {}).get("name") or (body.get("metadata") or {}).get(
            "generateName", ""
        )
        path = self._collection_path(res, ns)
        return self._fill_kind(res, self._json("POST", path, body=body, what=f"create {res.kind} {name}"))

    def replace(self, res: Resource, name: str, body: Obj, *, namespace: str | None = None) -> Obj:
        path = self._object_path(res, name, namespace)
        return self._fill_kind(res, self._json("PUT", path, body=body, what=f"replace {res.kind} {name}"))

    def patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
    ) -> Obj:
        content_type = _PATCH_CONTENT_TYPES.get(patch_type)
        if content_type is None:
            raise Invalid(f"unknown patch type {patch_type!r}", hint="use merge, strategic, json or apply")
        if patch_type == "json" and not isinstance(patch, list):
            raise Invalid("a JSON patch must be a list of operations")
        query = {"fieldManager": FIELD_MANAGER, "force": "true"} if patch_type == "apply" else None
        path = self._object_path(res, name, namespace)
        return self._fill_kind(
            res,
            self._json(
                "PATCH",
                path,
                body=patch,
                content_type=content_type,
                query=query,
                what=f"patch {res.kind} {name}",
            ),
        )

    def delete(self, res: Resource, name: str, *, namespace: str | None = None) -> None:
        """NotFound is raised, not swallowed."""
        path = self._object_path(res, name, namespace)
        self._call(
            "DELETE",
            path,
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
            what=f"delete {res.kind} {name}",
        )

    def apply(self, docs: Iterable[Obj], *, namespace: str | None = None) -> builtins.list[Obj]:
        """Server-side apply each document as ``istio-tui`` (forced), like ``kubectl apply --server-side``:
        lists such as containers and ports merge by key, and fields we stop applying are removed. Returns
        the stored objects. Every document is checked (shape, kind) before the first write, so a bad file
        changes nothing.
        """
        plan: builtins.list[tuple[Resource, Obj, str, str | None]] = []
        for index, doc in enumerate(docs, start=1):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise Invalid(f"document {index} is not a mapping")
            api_version, kind = doc.get("apiVersion"), doc.get("kind")
            if not api_version or not kind:
                raise Invalid(f"document {index} has no apiVersion or kind")
            meta = doc.get("metadata") or {}
            name = meta.get("name")
            if not isinstance(name, str) or not name:
                raise Invalid(f"document {index} ({kind}) has no metadata.name")
            res = self.resource_for(api_version=str(api_version), kind=str(kind))
            ns = (meta.get("namespace") or namespace or self.namespace) if res.namespaced else None
            plan.append((res, doc, name, ns))
        stored: builtins.list[Obj] = []
        for res, doc, name, ns in plan:
            stored.append(self.patch(res, name, doc, namespace=ns, patch_type="apply"))
        return stored

    def pod_logs(
        self,
        name: str,
        *,
        namespace: str,
        container: str | None = None,
        tail_lines: int | None = 500,
        previous: bool = False,
        timestamps: bool = False,
    ) -> str:
        """``tail_lines`` None reads the whole log; ``previous`` the run before a restart (kubectl -p)."""
        query = log_query(container, tail_lines, previous=previous, timestamps=timestamps)
        path = self._object_path(PODS, name, namespace) + "/log"
        data = self._call("GET", path, query=query, accept="text/plain", what=f"logs of pod {name}")
        return data.decode("utf-8", "replace")

    def follow_pod_logs(
        self,
        name: str,
        *,
        namespace: str,
        container: str | None = None,
        tail_lines: int | None = None,
        timestamps: bool = False,
    ) -> LogFollow:
        """``kubectl logs -f``: iterate the lines as the container writes them (blocking; use a Stream).

        Like kubectl, the whole log first unless ``tail_lines`` limits it."""
        query = {**log_query(container, tail_lines, previous=False, timestamps=timestamps), "follow": "true"}
        path = self._object_path(PODS, name, namespace) + "/log"
        return LogFollow(self, path, query, what=f"logs of pod {name}")

    def can_i(self, *, verb: str, resource: str, group: str = "", namespace: str | None = None) -> bool:
        """SelfSubjectAccessReview."""
        attributes: Obj = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = self._json(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body=review,
            what=f"can-i {verb} {resource}",
        )
        return bool((answer.get("status") or {}).get("allowed"))

    def rollout_restart(self, name: str, *, namespace: str) -> Obj:
        """Patch the Deployment template annotation kubectl.kubernetes.io/restartedAt, as kubectl does.

        kubectl stamps whole seconds, so a second restart within the same second would change nothing and
        silently roll nothing out; that one gets a sub-second stamp instead (RFC 3339 allows fractions)."""
        key = "kubectl.kubernetes.io/restartedAt"
        moment = datetime.now(UTC)
        now = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        template = (self.get(DEPLOYMENTS, name, namespace=namespace).get("spec") or {}).get("template") or {}
        if ((template.get("metadata") or {}).get("annotations") or {}).get(key) == now:
            now = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {key: now}}}}}
        return self.patch(DEPLOYMENTS, name, patch, namespace=namespace, patch_type="strategic")

    def watch(
        self,
        res: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 60,
    ) -> Watch:
        return Watch(
            self,
            res,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            timeout_seconds=timeout_seconds,
        )
