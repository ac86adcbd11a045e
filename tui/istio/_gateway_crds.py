"""Regenerate ``gateway-api-standard-crds.json.gz``: the Gateway API standard-channel CRDs the sandbox gets
when the wizard installs them (a real cluster gets the upstream release through kubectl instead).

Source: the published CRDs of kubernetes-sigs/gateway-api ``v1.6.1`` (``standard-install.yaml`` of the
release; the team keeps a copy in ``../shared/data/gateway-api-v1.6.1-standard-crds.yaml``). Run from the
repository root:

    python -m tui.istio._gateway_crds ../shared/data/gateway-api-v1.6.1-standard-crds.yaml

What is kept is the API definition (names, versions, schemas, printer columns, bundle annotations); the prose
``description`` fields are dropped, which also keeps the file small.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent / "gateway-api-standard-crds.json.gz"


def _strip(node: Any, *, fields: bool = False) -> Any:
    """Drop prose ``description`` keys; under ``properties`` the keys are field names and all stay."""
    if isinstance(node, dict):
        return {
            k: _strip(v, fields=k == "properties" and not fields)
            for k, v in node.items()
            if fields or k != "description"
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def main(argv: list[str]) -> int:
    docs = [d for d in yaml.safe_load_all(Path(argv[0]).read_text()) if d]
    crds = [_strip(d) for d in docs if d.get("kind") == "CustomResourceDefinition"]
    body = json.dumps({"source": argv[0].rsplit("/", 1)[-1], "items": crds}, sort_keys=True).encode()
    OUT.write_bytes(gzip.compress(body, mtime=0))
    print(f"{len(crds)} CRDs, {OUT.stat().st_size} bytes -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
