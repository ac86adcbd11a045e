"""ControllerRevisions: the pod templates a StatefulSet or DaemonSet has rolled out, newest last."""

from __future__ import annotations

import contextlib
import copy

from tui.errors import KubeError
from tui.sandbox.controllers.common import meta, owner_ref
from tui.sandbox.store import Obj, Store

REVISIONS = "controllerrevisions.apps"
REVISION_LABEL = "controller-revision-hash"


def save_revision(store: Store, owner: Obj, *, kind: str, name: str, template: Obj, number: int) -> None:
    """A ControllerRevision holding ``template``, as ``kubectl rollout history`` lists them."""
    m = meta(owner)
    if store.try_get(REVISIONS, name, namespace=str(m.get("namespace") or ""), copy=False) is not None:
        return
    selector = ((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    body = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": name,
            "namespace": m.get("namespace", ""),
            "labels": {**selector, REVISION_LABEL: name.rsplit("-", 1)[-1]},
            "ownerReferences": [owner_ref(owner, api_version="apps/v1", kind=kind)],
        },
        "data": {"spec": {"template": copy.deepcopy(template)}},
        "revision": number,
    }
    with contextlib.suppress(KubeError):
        store.create(REVISIONS, body)
