"""UI-free traffic generator: load engine, Bookinfo page classifier, tally and statistics."""

from __future__ import annotations

from typing import Final

# Load pods of one in-cluster run: each is a pod the cluster (a process in the sandbox) must run, and a few
# dozen already load Bookinfo far beyond what one namespace of it serves.
MAX_LOAD_PODS: Final = 100
