"""The install choices: what each wizard field and CLI flag accepts, and the upstream charts behind them.

``validate_field(name, raw)`` checks one field (a key of ``FIELDS``) and returns its normalised value, or
raises ``FieldError`` naming the field; ``tui.istio.plan`` turns validated choices into values and commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tui.errors import ConfigError
from tui.inputs import check_plain, check_url

ISTIO_NAMESPACE = "istio-system"
ISTIO_REPO_NAME = "istio"
ISTIO_REPO_URL = "https://istio-release.storage.googleapis.com/charts"
DEFAULT_ISTIO_VERSION = "1.30.4"
MIN_ISTIO_MINOR = 22
PROFILES = ("default", "demo", "minimal", "ambient")
INGRESS_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
ADDONS = ("prometheus", "grafana", "jaeger", "kiali")
NODE_PORT_RANGE = (30000, 32767)
INGRESS_RELEASE = "istio-ingressgateway"
EGRESS_RELEASE = "istio-egressgateway"
JAEGER_COLLECTOR = f"jaeger-collector.{ISTIO_NAMESPACE}.svc.cluster.local"
HELM_TIMEOUT = "5m"

SourceKind = Literal["repo", "dir", "tgz", "sandbox"]


class FieldError(ConfigError):
    """A bad value for one form field; ``field`` says which widget to mark."""

    def __init__(self, field_name: str, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.field = field_name


@dataclass(frozen=True)
class AddonChart:
    """Where an addon's chart lives upstream, and the Service the addon Ingress points at."""

    addon: str
    repo_name: str
    repo_url: str
    chart: str
    version: str
    release: str
    service: str
    port: int
    host: str


ADDON_CHARTS: dict[str, AddonChart] = {
    "prometheus": AddonChart(
        addon="prometheus",
        repo_name="prometheus-community",
        repo_url="https://prometheus-community.github.io/helm-charts",
        chart="prometheus",
        version="27.37.0",
        release="prometheus",
        service="prometheus-server",
        port=80,
        host="prometheus.istio.io",
    ),
    "grafana": AddonChart(
        addon="grafana",
        repo_name="grafana",
        repo_url="https://grafana.github.io/helm-charts",
        chart="grafana",
        version="9.2.1",
        release="grafana",
        service="grafana",
        port=80,
        host="grafana.istio.io",
    ),
    "jaeger": AddonChart(
        addon="jaeger",
        repo_name="jaegertracing",
        repo_url="https://jaegertracing.github.io/helm-charts",
        chart="jaeger",
        version="3.4.1",
        release="jaeger",
        service="jaeger-query",
        port=16686,
        host="tracing.istio.io",
    ),
    "kiali": AddonChart(
        addon="kiali",
        repo_name="kiali",
        repo_url="https://kiali.org/helm-charts",
        chart="kiali-server",
        version="2.11.0",
        release="kiali",
        service="kiali",
        port=20001,
        host="kiali.istio.io",
    ),
}


@dataclass(frozen=True)
class ChartSource:
    """Where helm gets the charts from.

    ``repo``: a Helm repository URL (the official one by default), charts named ``istio/<chart>`` with
    ``--version``. ``dir``: a directory holding unpacked charts (``<dir>/<chart>/Chart.yaml``). ``tgz``:
    packaged charts (``<chart>-<version>.tgz``), given as a directory or as files. ``sandbox``: this package's
    simulated charts (a ``dir`` source whose addons are local too). Local sources serve the addon charts as
    well, so an air-gapped bastion needs no network at all.
    """

    kind: SourceKind
    location: str
    files: tuple[str, ...] = ()

    @property
    def local(self) -> bool:
        return self.kind != "repo"

    def describe(self) -> str:
        if self.kind == "repo":
            return f"Helm repository {self.location}"
        if self.kind == "sandbox":
            return f"sandbox charts in {self.location}"
        if self.kind == "tgz":
            return f"packaged charts in {self.location}"
        return f"chart directory {self.location}"


# ----------------------------------------------------------------------------------------------------------
# field validation
# ----------------------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"^1\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}


def _version(raw: Any) -> str:
    text = str(raw or "").strip().removeprefix("v")
    if not text:
        return DEFAULT_ISTIO_VERSION
    m = _VERSION_RE.match(text)
    if not m:
        raise FieldError(
            "istio_version",
            f"Istio version {str(raw)!r} is not of the form 1.N.P (e.g. {DEFAULT_ISTIO_VERSION})",
        )
    if int(m.group(1)) < MIN_ISTIO_MINOR:
        raise FieldError(
            "istio_version",
            f"Istio {text} is too old for these charts: choose 1.{MIN_ISTIO_MINOR}.0 or newer "
            f"(e.g. {DEFAULT_ISTIO_VERSION})",
        )
    return text


def _choice(name: str, raw: Any, choices: tuple[str, ...], default: str) -> str:
    text = str(raw or "").strip()
    if not text:
        return default
    for choice in choices:
        if choice.lower() == text.lower():
            return choice
    raise FieldError(name, f"unknown {name.replace('_', ' ')} {text!r}: choose one of {', '.join(choices)}")


def _node_port(name: str, raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise FieldError(name, f"{name.replace('_', ' ')} must be a number, not {raw!r}")
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise FieldError(name, f"{name.replace('_', ' ')} {str(raw)!r} is not a number") from None
    low, high = NODE_PORT_RANGE
    if not low <= port <= high:
        raise FieldError(name, f"{name.replace('_', ' ')} {port} is outside the NodePort range {low}-{high}")
    return port


def _flag(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw if raw is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(name, f"{name.replace('_', ' ')} must be on or off, not {str(raw)!r}")


def _sampling(raw: Any) -> float:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 1.0
    if isinstance(raw, bool):
        raise FieldError("sampling", f"sampling rate must be a number, not {raw!r}")
    try:
        rate = float(str(raw).strip().removesuffix("%"))
    except ValueError:
        raise FieldError(
            "sampling", f"sampling rate {str(raw)!r} is not a number (a percentage 0-100)"
        ) from None
    if not 0.0 <= rate <= 100.0:
        raise FieldError("sampling", f"sampling rate {rate:g} is outside 0-100 (it is a percentage)")
    return rate + 0.0  # -0 becomes 0: "tracing -0%" in the summary and the values file reads as nonsense


def _addons(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    chosen: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if not name:
            continue
        if name not in ADDONS:
            raise FieldError(
                "addons", f"unknown addon {str(item).strip()!r}: valid addons are {', '.join(ADDONS)}"
            )
        if name not in chosen:
            chosen.append(name)
    return tuple(a for a in ADDONS if a in chosen)


def _chart_source(raw: Any) -> ChartSource:
    text = str(raw or "").strip(" ")
    if not text or text in {"official", "repo", ISTIO_REPO_URL}:
        return ChartSource("repo", ISTIO_REPO_URL)
    try:
        check_plain(text, what="chart source")
        if "://" in text:
            if text.lower().startswith("oci://"):
                raise ConfigError("OCI registries are not supported: give an https:// Helm repository URL")
            check_url(text, what="chart source", schemes=("https", "http"), example=ISTIO_REPO_URL)
            return ChartSource("repo", text.rstrip("/"))
    except ConfigError as err:
        raise FieldError("chart_source", err.message, hint=err.hint) from None
    if text == "sandbox":
        return ChartSource("sandbox", str(sandbox_charts_dir()))
    if "," in text or text.endswith(".tgz"):
        files = tuple(str(Path(p.strip()).expanduser()) for p in text.split(",") if p.strip())
        for f in files:
            if not f.endswith(".tgz"):
                raise FieldError("chart_source", f"chart file {f} is not a .tgz package")
            if not Path(f).is_file():
                raise FieldError("chart_source", f"chart file {f} does not exist")
        return ChartSource("tgz", str(Path(files[0]).parent), files)
    path = Path(text).expanduser()
    if not path.exists():
        raise FieldError(
            "chart_source",
            f"chart source {text!r} is neither a URL, 'sandbox', nor an existing directory or .tgz file",
        )
    if not path.is_dir():
        raise FieldError("chart_source", f"chart source {text} is not a directory or a .tgz file")
    if (path / "base" / "Chart.yaml").is_file() or (path / "istiod" / "Chart.yaml").is_file():
        return ChartSource("dir", str(path.resolve()))
    tgz = tuple(sorted(str(p) for p in path.glob("*.tgz")))
    if tgz:
        return ChartSource("tgz", str(path.resolve()), tgz)
    raise FieldError(
        "chart_source",
        f"directory {text} holds no charts (expected base/Chart.yaml, istiod/... or *.tgz files)",
    )


def sandbox_charts_dir() -> Path:
    """The simulated charts shipped with this package (``manifests/charts``)."""
    from tui.config import manifests_dir

    return Path(manifests_dir()) / "charts"


FIELDS: dict[str, Any] = {
    "istio_version": _version,
    "profile": lambda raw: _choice("profile", raw, PROFILES, "default"),
    "ingress_type": lambda raw: _choice("ingress_type", raw, INGRESS_TYPES, "LoadBalancer"),
    "node_port_http2": lambda raw: _node_port("node_port_http2", raw),
    "node_port_https": lambda raw: _node_port("node_port_https", raw),
    "ingress_gateway": lambda raw: _flag("ingress_gateway", raw),
    "egress_gateway": lambda raw: _flag("egress_gateway", raw),
    "tracing": lambda raw: _flag("tracing", raw),
    "sampling": _sampling,
    "addons": _addons,
    "chart_source": _chart_source,
}


def validate_field(name: str, raw: Any) -> Any:
    """Check one form field; returns the normalised value or raises ``FieldError`` with a one-line reason."""
    try:
        check = FIELDS[name]
    except KeyError:
        raise ConfigError(f"unknown install field {name!r}: known fields are {', '.join(FIELDS)}") from None
    return check(raw)
