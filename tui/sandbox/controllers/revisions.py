"""ControllerRevisions: the pod templates a StatefulSet or DaemonSet has rolled out, newest last."""

from __future__ import annotations

import copy

from tui.sandbox.controllers.base import Reconciler
from tui.sandbox.controllers.common import meta
from tui.sandbox.store import Obj

REVISIONS = "controllerrevisions.apps"
REVISION_LABEL = "controller-revision-hash"


def save_revision(controller: Reconciler, owner: Obj, *, name: str, template: Obj, number: int) -> None:
    """A ControllerRevision holding ``template``, as ``kubectl rollout history`` lists them."""
    selector = ((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    body = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": name,
            "namespace": meta(owner).get("namespace", ""),
            "labels": {**selector, REVISION_LABEL: name.rsplit("-", 1)[-1]},
            "ownerReferences": [controller.owner_ref(owner)],
        },
        "data": {"spec": {"template": copy.deepcopy(template)}},
        "revision": number,
    }
    controller.create_owned(owner, REVISIONS, body)
