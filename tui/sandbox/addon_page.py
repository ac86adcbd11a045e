"""The page an addon's Ingress answers with in the sandbox: which addon, which Service, which pod.

The sandbox runs no addon software, so instead of a Grafana or Kiali UI the operator gets proof that the
route works end to end: host → Ingress → Service port → the pod that would answer.
"""

from __future__ import annotations

from html import escape

_TITLES = {"prometheus": "Prometheus", "grafana": "Grafana", "jaeger": "Jaeger", "kiali": "Kiali"}


def render(
    *, addon: str, namespace: str, service: str, port: int | str, pod: str, pod_ip: str, path: str
) -> bytes:
    title = _TITLES.get(addon, addon)
    rows = (
        ("Addon", title),
        ("Service", f"{namespace}/{service}:{port}"),
        ("Pod that would answer", f"{pod} ({pod_ip})" if pod_ip else pod),
        ("Path", path),
    )
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)} (istio-tui sandbox)</title></head><body>"
        f"<h1>{escape(title)}</h1>"
        "<p>Reached through the Istio ingress gateway and a Kubernetes Ingress. The sandbox runs no addon "
        "software; on a real cluster this request gets the addon's own UI.</p>"
        f"<table>{cells}</table></body></html>"
    ).encode()
