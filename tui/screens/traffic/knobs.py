"""The traffic knobs: how much load, how fast, as whom. Parsed here once; a bad value never reaches a run.

``KnobsBar`` is the row of Inputs. It keeps the last valid ``Knobs`` and tells its pane through messages
whether an edit was taken or rejected (with the fields to mark), so the pane never reads the Inputs itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from tui.errors import ConfigError
from tui.traffic import MAX_LOAD_PODS
from tui.traffic.engine import TrafficConfig


@dataclass(frozen=True)
class Knobs:
    """The traffic knobs as last validated; a bad value in an Input never reaches here."""

    concurrency: int = 8
    rate: float = 50.0
    requests: int | None = None
    duration_s: float | None = None
    user: str | None = None
    pods: int = 0  # 0: from this machine; N: from N load pods of a Job in the cluster

    def config(self, url: str, *, workers: int | None) -> TrafficConfig:
        return TrafficConfig(
            url=url,
            requests=self.requests,
            duration_s=self.duration_s,
            concurrency=self.concurrency,
            rate=self.rate,
            user=self.user,
            workers=workers,
        )

    def describe(self) -> str:
        amount = (
            f"{self.requests} requests"
            if self.requests
            else f"{self.duration_s:g} s"
            if self.duration_s
            else "until stopped"
        )
        rate = "as fast as possible" if not self.rate else f"{self.rate:g}/s"
        who = f", as {self.user}" if self.user else ""
        where = f", from in-cluster ×{self.pods}" if self.pods else ""
        return f"{amount}, concurrency {self.concurrency}, {rate}{who}{where}"

    def texts(self) -> dict[str, str]:
        """What each Input shows for these knobs."""
        return {
            "concurrency": str(self.concurrency),
            "rate": f"{self.rate:g}",
            "requests": str(self.requests or ""),
            "duration": f"{self.duration_s:g}" if self.duration_s else "",
            "user": self.user or "",
            "pods": str(self.pods or ""),
        }


def _whole(text: str, what: str, *, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{what} must be a whole number, got {text!r}") from None
    if value < low:
        raise ConfigError(f"{what} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ConfigError(f"{what} must be at most {high}, got {value}")
    return value


def _seconds(text: str, what: str) -> float:
    raw = text[:-1].strip() if text.endswith("s") else text
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{what} must be a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{what} must be a positive number of seconds, got {text!r}")
    return value


def parse_knobs(values: Mapping[str, str]) -> Knobs:
    """Knobs from the Inputs' text; a ConfigError names the first bad field. Empty requests/duration: none."""
    concurrency = _whole(values["concurrency"].strip(), "concurrency", low=1)
    rate_text = values["rate"].strip() or "0"
    try:
        rate = float(rate_text)
    except ValueError:
        raise ConfigError(
            f"rate must be requests per second (0: as fast as possible), got {rate_text!r}"
        ) from None
    requests_text, duration_text = values["requests"].strip(), values["duration"].strip()
    requests = _whole(requests_text, "requests", low=1) if requests_text else None
    duration = _seconds(duration_text, "duration") if duration_text else None
    user = values["user"].strip() or None
    pods_text = values.get("pods", "").strip().lstrip("×x")
    pods = _whole(pods_text, "pods", low=0, high=MAX_LOAD_PODS) if pods_text else 0
    knobs = Knobs(
        concurrency=concurrency, rate=rate, requests=requests, duration_s=duration, user=user, pods=pods
    )
    knobs.config("http://127.0.0.1/", workers=0)  # the engine's own checks: ranges, both amounts, user name
    return knobs


def bad_fields(error: str) -> list[str]:
    """The Inputs a ConfigError from :func:`parse_knobs` is about."""
    if error.startswith("give either"):
        return ["requests", "duration"]
    return [key for key, _ in KNOB_FIELDS if error.startswith(key)]


KNOB_FIELDS = (
    ("concurrency", "conc"),
    ("rate", "rate/s"),
    ("requests", "reqs"),
    ("duration", "or secs"),
    ("user", "user"),
    ("pods", "pods"),  # in-cluster load pods; empty: from this machine
)


class KnobsBar(Horizontal):
    """The knob Inputs; Enter in a valid knob hands focus back to the pane."""

    class Changed(Message):
        """The Inputs hold valid knobs (``submitted``: the user pressed Enter in one)."""

        def __init__(self, knobs: Knobs, *, submitted: bool) -> None:
            super().__init__()
            self.knobs = knobs
            self.submitted = submitted

    class Rejected(Message):
        """An Input holds a bad value: ``error`` says which and why; the previous knobs stay in force."""

        def __init__(self, error: str, knobs: Knobs) -> None:
            super().__init__()
            self.error = error
            self.knobs = knobs

    def __init__(self, knobs: Knobs, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.knobs = knobs

    def compose(self) -> ComposeResult:
        initial = self.knobs.texts()
        for key, label in KNOB_FIELDS:
            yield Label(f"{label} ", classes="knob-label")
            yield Input(initial[key], id=f"knob-{key}", compact=True, classes="knob")

    def validate(self) -> str:
        """Re-read every Input: "" when valid (``knobs`` updated), else the one-line reason."""
        inputs = {key: self.query_one(f"#knob-{key}", Input) for key, _ in KNOB_FIELDS}
        for field in inputs.values():
            field.remove_class("-bad")
        try:
            self.knobs = parse_knobs({key: field.value for key, field in inputs.items()})
        except ConfigError as exc:
            for key in bad_fields(str(exc)):
                inputs[key].add_class("-bad")
            return str(exc)
        return ""

    @on(Input.Changed, ".knob")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._post(submitted=False)

    @on(Input.Submitted, ".knob")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._post(submitted=True)

    def _post(self, *, submitted: bool) -> None:
        error = self.validate()
        if error:
            self.post_message(self.Rejected(error, self.knobs))
        else:
            self.post_message(self.Changed(self.knobs, submitted=submitted))
