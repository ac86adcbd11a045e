"""The sandbox's fake control plane: one module per controller, run by :mod:`.manager`.

Why fake controllers at all: clients judge a cluster by what its objects do after a write. ``helm --wait``
needs ReplicaSets that own ready pods, ``kubectl rollout restart`` needs new pods to replace old ones, and the
pod table needs pods that go Pending → ContainerCreating → Running. The logic follows the real controllers'
observable results (names, labels, owner references, status fields), not their internals.
"""

from __future__ import annotations

from tui.sandbox.controllers.common import pod_ready, template_hash
from tui.sandbox.controllers.manager import Controllers, start_controllers

__all__ = ["Controllers", "pod_ready", "start_controllers", "template_hash"]
