"""The traffic work area, one job per module: the pane's wiring (pane), the knobs (knobs), the run and its
epochs (run), the cluster view and its poller (cluster), the cluster changes (actions), the boxes (views)."""

from __future__ import annotations

from tui.screens.traffic.knobs import Knobs, parse_knobs
from tui.screens.traffic.pane import TrafficPane

__all__ = ["Knobs", "TrafficPane", "parse_knobs"]
