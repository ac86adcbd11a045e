"""The install plan: validated wizard choices -> helm values files and the exact helm commands.

How the UI uses this module
---------------------------
The install form holds one widget per field. Each field name below is a key of ``FIELDS`` (the rules live in
``tui.istio.choices``; every public name there is re-exported here):

=====================  =====================================================================================
field                  accepted input (strings from widgets are fine; the normalised value is returned)
=====================  =====================================================================================
``istio_version``      ``1.N.P`` with N >= 22, e.g. ``1.30.4`` (``DEFAULT_ISTIO_VERSION``)
``profile``            ``default`` | ``demo`` | ``minimal`` | ``ambient`` (``PROFILES``)
``ingress_type``       ``LoadBalancer`` | ``NodePort`` | ``ClusterIP`` (``INGRESS_TYPES``), any case
``node_port_http2``    empty/None (the cluster picks one) or an integer 30000-32767; NodePort only
``node_port_https``    same as above
``ingress_gateway``    bool: install ``istio-ingressgateway`` (default on; the Gateway API and ambient need
                      none, since istiod deploys a Gateway's proxy itself)
``egress_gateway``     bool (or "yes"/"no"/"true"/"false"/"on"/"off")
``tracing``            bool (same spellings); None (not chosen): on exactly when the jaeger addon is chosen
``sampling``           percentage 0-100 (float), the share of requests traced when tracing is on
``addons``             iterable or comma-separated subset of ``prometheus,grafana,jaeger,kiali``
``chart_source``       "" (official Istio Helm repository), an ``https://`` mirror URL, ``sandbox`` (the
                       charts shipped in this package), a directory of unpacked charts, a directory of
                       ``.tgz`` files, or a comma-separated list of ``.tgz`` files
=====================  =====================================================================================

* ``validate_field(name, raw)`` checks one field and returns its normalised value, or raises ``FieldError``
  (a ``ConfigError`` carrying ``.field``). Show ``str(err)`` next to the field.
* ``build_plan(**raw)`` validates every field and the cross-field rules (fixed nodePorts need NodePort, the
  two nodePorts must differ, ``minimal`` installs no gateway so no egress gateway). It returns an
  ``InstallPlan`` or raises ``FieldError`` naming the field to highlight. Nothing touches the cluster.
* ``plan.values_files()`` maps file name -> YAML text (the live preview), ``plan.install_script()`` and
  ``plan.uninstall_script()`` give the shell commands, ``plan.write(out_dir)`` saves them all (the save key).
* ``plan.releases`` lists the helm steps in install order (``Release``); ``tui.istio.helm.HelmRunner`` runs
  them. ``plan.summary()`` is a one-line description for headers and confirmations.

Why the values look the way they do
-----------------------------------
They target the official charts (``base``, ``istiod``, ``gateway``, ``cni``, ``ztunnel``) of the chosen
version:

* ``profile`` is set only on ``istiod`` (and ``cni`` for ambient): the profile files only change keys those
  charts read, and ``default``/``minimal`` are not Helm profiles at all (minimal = control plane only).
* The ingress gateway is the ``gateway`` chart installed as release ``istio-ingressgateway`` in
  ``istio-system``; the chart derives the pod label ``istio=<release name without "istio-">``, i.e.
  ``istio=ingressgateway``, which Bookinfo's Gateway selects. Its ``service.ports`` repeat the chart's own
  three ports (status-port 15021, http2 80, https 443) because Helm replaces lists; fixed nodePorts go on the
  http2/https entries.
* Tracing sets ``meshConfig.enableTracing``, ``pilot.traceSampling`` (the istiod chart copies ``pilot.*`` to
  its top level, where the Deployment reads ``traceSampling``) and a ``jaeger`` OpenTelemetry extension
  provider pointing at ``jaeger-collector.istio-system:4317``, made the default tracing provider. Setting
  ``meshConfig.defaultProviders`` at all makes the istiod chart drop its own ``metrics: [prometheus]``
  default (istio/istio#51384), so the plan names ``prometheus`` there too or the mesh loses its request
  metrics (Kiali and the Prometheus addon would show no traffic).
* Addons come from their own projects' charts (``ADDON_CHARTS``) with small values files of their own.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tui.errors import ConfigError
from tui.istio.choices import (
    ADDON_CHARTS,
    ADDONS,
    DEFAULT_ISTIO_VERSION,
    EGRESS_RELEASE,
    FIELDS,
    HELM_TIMEOUT,
    INGRESS_RELEASE,
    INGRESS_TYPES,
    ISTIO_NAMESPACE,
    ISTIO_REPO_NAME,
    ISTIO_REPO_URL,
    JAEGER_COLLECTOR,
    MIN_ISTIO_MINOR,
    NODE_PORT_RANGE,
    PROFILES,
    AddonChart,
    ChartSource,
    FieldError,
    SourceKind,
    sandbox_charts_dir,
    validate_field,
)
from tui.models import plural_noun
from tui.text import escape_controls

__all__ = [
    "ADDONS",
    "ADDON_CHARTS",
    "AddonChart",
    "ChartSource",
    "DEFAULT_ISTIO_VERSION",
    "EGRESS_RELEASE",
    "FIELDS",
    "FieldError",
    "HELM_TIMEOUT",
    "INGRESS_RELEASE",
    "INGRESS_TYPES",
    "ISTIO_NAMESPACE",
    "ISTIO_REPO_NAME",
    "ISTIO_REPO_URL",
    "InstallPlan",
    "JAEGER_COLLECTOR",
    "MIN_ISTIO_MINOR",
    "NODE_PORT_RANGE",
    "PROFILES",
    "Release",
    "SourceKind",
    "build_plan",
    "plan_from_form",
    "sandbox_charts_dir",
    "validate_field",
]


@dataclass(frozen=True)
class Release:
    """One helm step: ``helm upgrade --install <name> <chart_ref> -n <namespace> ... -f <values_file>``."""

    name: str
    chart: str
    chart_ref: str
    namespace: str
    values_file: str
    values: Mapping[str, Any]
    version: str | None = None
    repo_name: str = ""
    repo_url: str = ""
    addon: bool = False
    wait: bool = True

    def install_args(self, *, values_dir: str | Path | None = None) -> list[str]:
        """helm arguments (without ``helm`` and kube flags). ``values_dir`` makes the -f path absolute."""
        values = str(Path(values_dir) / self.values_file) if values_dir is not None else self.values_file
        args = ["upgrade", "--install", self.name, self.chart_ref, "-n", self.namespace, "--create-namespace"]
        if self.version:
            args += ["--version", self.version]
        args += ["-f", values]
        if self.wait:
            args += ["--wait", "--timeout", HELM_TIMEOUT]
        return args

    def uninstall_args(self) -> list[str]:
        return ["uninstall", self.name, "-n", self.namespace, "--ignore-not-found"]



# ----------------------------------------------------------------------------------------------------------
# the plan
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallPlan:
    """Every choice of the install form, validated. Construct with ``build_plan`` from raw input.

    Direct construction validates too (``__post_init__``), so an ``InstallPlan`` always describes something
    helm can install.
    """

    istio_version: str = DEFAULT_ISTIO_VERSION
    profile: str = "default"
    ingress_type: str = "LoadBalancer"
    node_port_http2: int | None = None
    node_port_https: int | None = None
    ingress_gateway: bool = True
    egress_gateway: bool = False
    tracing: bool = False
    sampling: float = 1.0
    addons: tuple[str, ...] = ()
    chart_source: ChartSource = field(default_factory=lambda: ChartSource("repo", ISTIO_REPO_URL))

    def __post_init__(self) -> None:
        for name in (
            "istio_version",
            "profile",
            "ingress_type",
            "node_port_http2",
            "node_port_https",
            "ingress_gateway",
            "egress_gateway",
            "tracing",
            "sampling",
            "addons",
        ):
            normalised = FIELDS[name](getattr(self, name))
            if normalised != getattr(self, name):
                object.__setattr__(self, name, normalised)
        fixed = [p for p in (self.node_port_http2, self.node_port_https) if p is not None]
        if fixed and self.ingress_type != "NodePort":
            which = "node_port_http2" if self.node_port_http2 is not None else "node_port_https"
            raise FieldError(which, f"fixed nodePorts need ingress type NodePort, not {self.ingress_type}")
        if len(fixed) == 2 and fixed[0] == fixed[1]:
            raise FieldError("node_port_https", f"http2 and https cannot share nodePort {fixed[0]}")
        if self.egress_gateway and self.profile == "minimal":
            raise FieldError(
                "egress_gateway",
                "profile minimal installs no gateways: choose default or demo for an egress gateway",
            )
        self._check_local_charts()

    # ---- derived facts ----

    @property
    def has_ingress(self) -> bool:
        return self.profile != "minimal" and self.ingress_gateway

    @property
    def charts(self) -> tuple[str, ...]:
        """Istio charts in install order."""
        order = ["base", "istiod"]
        if self.profile == "ambient":
            order += ["cni", "ztunnel"]
        if self.has_ingress:
            order.append("gateway")
        return tuple(order)

    @property
    def releases(self) -> tuple[Release, ...]:
        """The helm steps in install order: base, istiod, [cni, ztunnel], gateways, then addons."""
        steps = [
            self._istio_release("istio-base", "base", "values-base.yaml", self.base_values()),
            self._istio_release("istiod", "istiod", "values-istiod.yaml", self.istiod_values()),
        ]
        if self.profile == "ambient":
            steps.append(self._istio_release("istio-cni", "cni", "values-cni.yaml", self.cni_values()))
            steps.append(
                self._istio_release("ztunnel", "ztunnel", "values-ztunnel.yaml", self.ztunnel_values())
            )
        if self.has_ingress:
            ingress = self._istio_release(
                INGRESS_RELEASE, "gateway", "values-gateway.yaml", self.gateway_values()
            )
            # helm --wait also waits for a LoadBalancer address, which never comes without a provider; the
            # progress view and verify report that instead of a five-minute hang.
            steps.append(replace(ingress, wait=self.ingress_type != "LoadBalancer"))
        if self.egress_gateway:
            steps.append(
                self._istio_release(
                    EGRESS_RELEASE, "gateway", "values-egressgateway.yaml", self.egress_values()
                )
            )
        for addon in self.addons:
            steps.append(self._addon_release(addon))
        return tuple(steps)

    def _istio_release(self, name: str, chart: str, values_file: str, values: dict[str, Any]) -> Release:
        src = self.chart_source
        if src.kind == "repo":
            return Release(
                name,
                chart,
                f"{ISTIO_REPO_NAME}/{chart}",
                ISTIO_NAMESPACE,
                values_file,
                values,
                version=self.istio_version,
                repo_name=ISTIO_REPO_NAME,
                repo_url=src.location,
            )
        return Release(
            name, chart, self._local_chart(chart, self.istio_version), ISTIO_NAMESPACE, values_file, values
        )

    def _addon_release(self, addon: str) -> Release:
        spec = ADDON_CHARTS[addon]
        values_file = f"values-{addon}.yaml"
        values = self.addon_values(addon)
        if self.chart_source.kind == "repo":
            return Release(
                spec.release,
                spec.chart,
                f"{spec.repo_name}/{spec.chart}",
                ISTIO_NAMESPACE,
                values_file,
                values,
                version=spec.version,
                repo_name=spec.repo_name,
                repo_url=spec.repo_url,
                addon=True,
            )
        return Release(
            spec.release,
            spec.chart,
            self._local_chart(spec.chart, spec.version),
            ISTIO_NAMESPACE,
            values_file,
            values,
            addon=True,
        )

    def _local_chart(self, chart: str, version: str) -> str:
        src = self.chart_source
        if src.kind in ("dir", "sandbox"):
            return str(Path(src.location) / chart)
        candidates = [
            f for f in src.files if re.fullmatch(rf"{re.escape(chart)}-\d[\w.+-]*\.tgz", Path(f).name)
        ]
        exact = [f for f in candidates if Path(f).name == f"{chart}-{version}.tgz"]
        return (exact or sorted(candidates))[-1]

    def _check_local_charts(self) -> None:
        src = self.chart_source
        if not src.local:
            return
        needed = list(self.charts) + [ADDON_CHARTS[a].chart for a in self.addons]
        missing: list[str] = []
        for chart in needed:
            if src.kind in ("dir", "sandbox"):
                if not (Path(src.location) / chart / "Chart.yaml").is_file():
                    missing.append(chart)
            elif not any(
                re.fullmatch(rf"{re.escape(chart)}-\d[\w.+-]*\.tgz", Path(f).name) for f in src.files
            ):
                missing.append(chart)
        if missing:
            where = "directories" if src.kind in ("dir", "sandbox") else ".tgz packages"
            raise FieldError(
                "chart_source",
                f"{src.describe()} lacks the {plural_noun(len(missing), 'chart')} {', '.join(missing)} "
                f"(looked for {where} of that name)",
            )

    # ---- values, one dict per chart ----

    def base_values(self) -> dict[str, Any]:
        return {"defaultRevision": "default"}

    def istiod_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.profile in ("demo", "ambient"):
            values["profile"] = self.profile
        values["global"] = {
            "hub": "docker.io/istio",
            "tag": self.istio_version,
            "istioNamespace": ISTIO_NAMESPACE,
        }
        mesh: dict[str, Any] = {"enableTracing": self.tracing}
        if self.tracing:
            mesh["defaultProviders"] = {"metrics": ["prometheus"], "tracing": ["jaeger"]}
            mesh["extensionProviders"] = [
                {"name": "jaeger", "opentelemetry": {"service": JAEGER_COLLECTOR, "port": 4317}},
            ]
        values["meshConfig"] = mesh
        if self.tracing:
            values["pilot"] = {"traceSampling": self.sampling}
        return values

    def cni_values(self) -> dict[str, Any]:
        return {"profile": "ambient"}

    def ztunnel_values(self) -> dict[str, Any]:
        return {"global": {"istioNamespace": ISTIO_NAMESPACE}}

    def gateway_values(self) -> dict[str, Any]:
        node_ports = {"http2": self.node_port_http2, "https": self.node_port_https}
        ports: list[dict[str, Any]] = []
        for name, port in (("status-port", 15021), ("http2", 80), ("https", 443)):
            entry: dict[str, Any] = {"name": name, "port": port, "protocol": "TCP", "targetPort": port}
            if self.ingress_type == "NodePort" and node_ports.get(name) is not None:
                entry["nodePort"] = node_ports[name]
            ports.append(entry)
        return {"service": {"type": self.ingress_type, "ports": ports}}

    def egress_values(self) -> dict[str, Any]:
        ports = [
            {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443},
        ]
        return {"service": {"type": "ClusterIP", "ports": ports}}

    def addon_values(self, addon: str) -> dict[str, Any]:
        if addon == "prometheus":
            return {
                "alertmanager": {"enabled": False},
                "kube-state-metrics": {"enabled": False},
                "prometheus-node-exporter": {"enabled": False},
                "prometheus-pushgateway": {"enabled": False},
                "server": {"persistentVolume": {"enabled": False}, "service": {"servicePort": 80}},
            }
        if addon == "grafana":
            datasources = [
                {
                    "name": "Prometheus",
                    "type": "prometheus",
                    "url": f"http://prometheus-server.{ISTIO_NAMESPACE}.svc:80",
                    "access": "proxy",
                    "isDefault": True,
                }
            ]
            return {
                "service": {"port": 80},
                "persistence": {"enabled": False},
                "grafana.ini": {"auth.anonymous": {"enabled": True, "org_role": "Viewer"}},
                "datasources": {"datasources.yaml": {"apiVersion": 1, "datasources": datasources}},
            }
        if addon == "jaeger":
            return {
                "fullnameOverride": "jaeger",
                "provisionDataStore": {"cassandra": False, "elasticsearch": False, "kafka": False},
                "storage": {"type": "memory"},
                "allInOne": {"enabled": True},
                "agent": {"enabled": False},
                "collector": {"enabled": False},
                "query": {"enabled": False},
            }
        external: dict[str, Any] = {
            "prometheus": {"url": f"http://prometheus-server.{ISTIO_NAMESPACE}.svc:80"},
            "grafana": {
                "enabled": "grafana" in self.addons,
                "internal_url": f"http://grafana.{ISTIO_NAMESPACE}.svc:80",
            },
            "tracing": {
                "enabled": "jaeger" in self.addons,
                "internal_url": f"http://jaeger-query.{ISTIO_NAMESPACE}.svc:16686",
                "use_grpc": False,
            },
        }
        return {
            "auth": {"strategy": "anonymous"},
            "istio_namespace": ISTIO_NAMESPACE,
            "server": {"web_root": "/kiali"},
            "external_services": external,
        }

    # ---- rendered artefacts ----

    def summary(self) -> str:
        parts = [f"Istio {self.istio_version}", f"profile {self.profile}"]
        if self.has_ingress:
            ingress = f"ingress {self.ingress_type}"
            fixed = [
                f"{n}={p}" for n, p in (("http2", self.node_port_http2), ("https", self.node_port_https)) if p
            ]
            parts.append(ingress + (f" ({', '.join(fixed)})" if fixed else ""))
        else:
            parts.append("no gateways")
        if self.egress_gateway:
            parts.append("egress gateway")
        parts.append(f"tracing {self.sampling:g}%" if self.tracing else "tracing off")
        parts.append("addons " + (",".join(self.addons) if self.addons else "none"))
        parts.append(self.chart_source.describe())
        return ", ".join(parts)

    def values_files(self) -> dict[str, str]:
        """File name -> YAML text, in install order (one file per release)."""
        out: dict[str, str] = {}
        for rel in self.releases:
            version = f" {rel.version}" if rel.version else ""
            header = _comment(f"{rel.name}: chart {rel.chart}{version}") + "\n"
            out[rel.values_file] = header + yaml.safe_dump(
                dict(rel.values), sort_keys=False, default_flow_style=False
            )
        return out

    def repos(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for rel in self.releases:
            if rel.repo_name and rel.repo_name not in seen:
                seen[rel.repo_name] = rel.repo_url
        return list(seen.items())

    def install_script(self) -> str:
        lines = [
            "#!/bin/sh",
            _comment(self.summary()),
            "# Written by istio-tui. The values files carry every setting; this script only names charts,",
            "# releases, namespaces and files. Re-running it is safe: every step is helm upgrade --install.",
            "set -eu",
            'cd "$(dirname "$0")"',
        ]
        repos = self.repos()
        for name, url in repos:
            lines.append(shlex.join(["helm", "repo", "add", name, url, "--force-update"]))
        if repos:
            lines.append(shlex.join(["helm", "repo", "update", *[name for name, _ in repos]]))
        for rel in self.releases:
            lines.append(shlex.join(["helm", *rel.install_args()]))
        return "\n".join(lines) + "\n"

    def uninstall_script(self) -> str:
        lines = [
            "#!/bin/sh",
            _comment(
                f"Removes what install.sh installed ({self.summary()}), addons first, in reverse order."
            ),
            "# Istio's CRDs stay (deleting them destroys all Istio configuration in the cluster). To remove:",
            "#   kubectl get crd -o name | grep -E '\\.istio\\.io$' | xargs -r kubectl delete",
            "set -eu",
        ]
        for rel in reversed(self.releases):
            lines.append(shlex.join(["helm", *rel.uninstall_args()]))
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the values files, install.sh and uninstall.sh into ``out_dir`` (created); returns paths."""
        out = Path(out_dir).expanduser()
        try:
            out.mkdir(parents=True, exist_ok=True)
            written: list[Path] = []
            for name, text in self.values_files().items():
                path = out / name
                path.write_text(text, encoding="utf-8")
                written.append(path)
            for name, text in (
                ("install.sh", self.install_script()),
                ("uninstall.sh", self.uninstall_script()),
            ):
                path = out / name
                path.write_text(text, encoding="utf-8")
                path.chmod(0o755)
                written.append(path)
        except OSError as err:
            raise ConfigError(f"cannot write the plan to {out}: {err.strerror or err}") from None
        return written


def _comment(text: str) -> str:
    """A script or YAML comment line; a control character (a newline would end the comment) is escaped."""
    return "# " + escape_controls(text)


def build_plan(
    *,
    istio_version: Any = None,
    profile: Any = None,
    ingress_type: Any = None,
    node_port_http2: Any = None,
    node_port_https: Any = None,
    ingress_gateway: Any = True,
    egress_gateway: Any = False,
    tracing: Any = None,
    sampling: Any = None,
    addons: Any = None,
    chart_source: Any = None,
) -> InstallPlan:
    """Validate raw form/CLI input field by field, then the cross-field rules. Raises ``FieldError``.

    Choosing the Jaeger addon is asking for traces: unless ``tracing`` is given, it follows that choice.
    """
    chosen = validate_field("addons", addons)
    return InstallPlan(
        istio_version=validate_field("istio_version", istio_version),
        profile=validate_field("profile", profile),
        ingress_type=validate_field("ingress_type", ingress_type),
        node_port_http2=validate_field("node_port_http2", node_port_http2),
        node_port_https=validate_field("node_port_https", node_port_https),
        ingress_gateway=validate_field("ingress_gateway", ingress_gateway),
        egress_gateway=validate_field("egress_gateway", egress_gateway),
        tracing=validate_field("tracing", tracing) if tracing is not None else "jaeger" in chosen,
        sampling=validate_field("sampling", sampling),
        addons=chosen,
        chart_source=validate_field("chart_source", chart_source),
    )


def plan_from_form(form: Mapping[str, Any]) -> InstallPlan:
    """``build_plan`` from a mapping of field name -> raw widget value; unknown keys are an error."""
    unknown = [k for k in form if k not in FIELDS]
    if unknown:
        raise ConfigError(
            f"unknown install {plural_noun(len(unknown), 'field')} {', '.join(unknown)}: "
            f"known fields are {', '.join(FIELDS)}"
        )
    return build_plan(**dict(form))
