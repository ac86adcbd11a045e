"""Server-side Table rendering (``as=Table``): the columns ``kubectl get`` prints for each kind.

kubectl never computes columns itself: with a Table it prints the server's cells verbatim (AGE included), and
without one it falls back to NAME/AGE. So the familiar READY/STATUS/RESTARTS columns exist only if we build
them here. Built-in kinds use kubectl 1.32's printer columns (core, workloads, other); any other built-in gets
NAME/AGE, and a custom resource gets its CRD's ``additionalPrinterColumns``.
"""

from __future__ import annotations

import json
from typing import Any

from tui.sandbox.resources import ResourceType
from tui.sandbox.tables import core, other, workloads
from tui.sandbox.tables.cells import NAME_AGE, Column, Layout, Obj, Row, age, human_age, name
from tui.sandbox.tables.jsonpath import json_path

__all__ = ["Column", "Row", "human_age", "json_path", "layout", "rows_cacheable", "table"]

_BUILTIN: dict[str, Layout] = {**core.LAYOUTS, **workloads.LAYOUTS, **other.LAYOUTS}


def _custom(rt: ResourceType) -> Layout:
    cols: list[Column] = [("Name", "string", 0)]
    paths: list[tuple[str, str]] = []
    for c in rt.printer_columns:
        col_name, ctype = str(c.get("name", "")), str(c.get("type", "string"))
        if col_name.lower() == "age" and c.get("jsonPath") == ".metadata.creationTimestamp":
            continue
        cols.append((col_name, ctype, int(c.get("priority") or 0)))
        paths.append((str(c.get("jsonPath", "")), ctype))
    cols.append(("Age", "string", 0))

    def row(o: Obj) -> list[Any]:
        cells: list[Any] = [name(o)]
        for path, ctype in paths:
            v = json_path(o, path)
            if isinstance(v, list | dict):
                v = json.dumps(v, separators=(",", ":"))
            elif v is not None and ctype == "date" and isinstance(v, str):
                v = human_age(v)
            cells.append("<none>" if v is None else v)
        cells.append(age(o))
        return cells

    return cols, row


def rows_cacheable(rt: ResourceType) -> bool:
    """Whether a row stays valid for one resourceVersion, Age aside: not so for time-dependent cells, nor for
    custom resources, whose columns change with their CRD."""
    return rt.builtin and rt.key not in workloads.TIME_DEPENDENT and rt.key != "events"


def layout(rt: ResourceType) -> tuple[list[Obj], Row]:
    """The columnDefinitions for ``rt`` and the function computing one row's cells."""
    cols, row = _BUILTIN.get(rt.key, NAME_AGE) if rt.builtin else _custom(rt)
    defs = [
        {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": "", "priority": p}
        for n, t, p in cols
    ]
    return defs, row


def table(rt: ResourceType, items: list[Obj], *, resource_version: str, columns: bool = True) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``items``; ``columns=False`` leaves columnDefinitions empty (watch)."""
    defs, row = layout(rt)
    rows = [
        {
            "cells": row(o),
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata"),
            },
        }
        for o in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": defs if columns else [],
        "rows": rows,
    }
