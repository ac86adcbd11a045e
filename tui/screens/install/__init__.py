"""The install wizard: one module per step, and the pane that holds them (``InstallPane``)."""

from __future__ import annotations

from tui.screens.install.pane import InstallPane

__all__ = ["InstallPane"]
