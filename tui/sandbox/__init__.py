"""The embedded cluster: a Kubernetes API server on loopback, its controllers and a simulated data plane."""
