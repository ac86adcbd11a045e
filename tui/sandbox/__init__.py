"""The embedded cluster: a Kubernetes API server on loopback, its controllers and a simulated data plane.

Embedded in the TUI, nothing here may reach the terminal's stderr (it would tear the Textual screen), so the
sandbox's loggers and aiohttp's get a NullHandler: without any handler, Python's last-resort handler would
print warnings to stderr. Records still propagate to whatever handlers the host installs; the foreground
``istio-tui sandbox serve`` installs a stderr handler itself.
"""

from __future__ import annotations

import logging

for _name in (__name__, "aiohttp"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
