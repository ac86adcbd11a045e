"""istio-tui: from an empty Kubernetes cluster to a verified Istio mesh, in the terminal."""

__version__ = "0.1.0"
