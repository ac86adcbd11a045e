"""Export a traffic run to a file the user names: ``.json`` for the whole run, ``.csv`` per second.

The file is created exclusively, so an existing file is never overwritten behind the user's back; every
failure (exists, missing folder, no permission, wrong suffix) is explained in the dialog, which stays open
so the name can be fixed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.traffic.classify import CATEGORIES

FORMATS = (".json", ".csv")


class ExportError(Exception):
    """A one-line reason the file was not written."""


def series_csv(buckets: Sequence[Mapping[str, int]], *, bucket_s: float) -> str:
    """One row per second of the run: its start, the request count and each category's count."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["t_s", "requests", *CATEGORIES])
    for i, bucket in enumerate(buckets):
        writer.writerow([f"{i * bucket_s:g}", sum(bucket.values()), *(bucket.get(c, 0) for c in CATEGORIES)])
    return out.getvalue()


def write_export(
    raw_path: str,
    *,
    record: Mapping[str, Any],
    buckets: Sequence[Mapping[str, int]],
    bucket_s: float,
) -> Path:
    """Write the run as JSON or CSV (by suffix) to a new file; raise ExportError with the reason otherwise."""
    text = raw_path.strip()
    if not text:
        raise ExportError("name a file, e.g. run.json or run.csv")
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path.name!r}: the name must end in .json (whole run) or .csv (split per second)")
    body = (
        json.dumps(record, indent=2, sort_keys=False) + "\n"
        if suffix == ".json"
        else series_csv(buckets, bucket_s=bucket_s)
    )
    try:
        with path.open("x", encoding="utf-8") as fh:
            fh.write(body)
    except FileExistsError:
        raise ExportError(f"{path} already exists: choose another name (nothing was overwritten)") from None
    except FileNotFoundError as exc:
        if not path.parent.exists():
            raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist") from None
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    except NotADirectoryError:
        raise ExportError(f"cannot write {path}: part of {path.parent} is a file, not a folder") from None
    except IsADirectoryError:
        raise ExportError(f"cannot write {path}: it is a folder") from None
    except PermissionError:
        raise ExportError(f"cannot write {path}: permission denied") from None
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path.resolve()


class ExportScreen(ModalScreen[Path | None]):
    """Asks for a file name; ``save`` writes it and raises ExportError, shown in place, when it cannot."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, save: Callable[[str], Path], *, summary: str, suggestion: str = "") -> None:
        super().__init__()
        self._save = save
        self._summary = summary
        self._suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Static(Text("Export the traffic run", style="bold"), id="export-title")
            yield Static(
                Text(
                    f"{self._summary}\n.json: the whole run (tally, latency, pods, routing, split); "
                    ".csv: the split per second. Enter saves, esc cancels."
                ),
                id="export-body",
            )
            yield Input(value=self._suggestion, placeholder="file name, e.g. run.json", id="export-path")
            yield Static("", id="export-error")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Input.Submitted, "#export-path")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            path = self._save(event.value)
        except ExportError as exc:
            self.query_one("#export-error", Static).update(Text(str(exc)))
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
