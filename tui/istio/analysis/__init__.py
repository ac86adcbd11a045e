"""Mesh analysis: checks that explain why traffic fails and name the object, the field and the fix.

UI-free. ``snapshot.take_snapshot`` reads the objects through ``tui.kube``; every check is a pure function
of a ``model.Snapshot`` (one module per family: gateways, routes, sidecars, ports, deprecated, ambient,
gatewayapi); ``runner.analyze`` runs them all. Codes (``IT0101``…) are stable and listed in the README with
the istioctl analyze code where one matches. This package module imports nothing, so building the CLI
parser (which imports ``analysis.cli``) does not load the Kubernetes client.
"""
