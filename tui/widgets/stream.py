"""Long-lived background loops on threads of their own, never in a slot of Textual's worker pool.

Textual's ``@work(thread=True)`` runs on asyncio's default executor, which has ``min(32, CPUs + 4)`` threads:
six on a 2-core machine. A watch or a poller never ends, so five of them starve every later one-off job (the
app once hung after a cancelled install that way). Every stream and poller therefore runs on a ``Stream``:
one daemon thread, started and stopped by the screen that owns it. Only short one-off calls use workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tui.errors import IstioTuiError

ErrorSink = Callable[[BaseException], None]


class Stream:
    """Runs ``target(stop)`` on a dedicated daemon thread; ``target`` returns when ``stop`` is set.

    An exception that escapes ``target`` goes to ``on_error`` (called on the stream's thread, so it must be
    thread-safe, e.g. ``post_message`` or ``app.call_from_thread``), never to a traceback on the terminal.
    """

    def __init__(self, target: Callable[[threading.Event], None], *, name: str, on_error: ErrorSink) -> None:
        self._target = target
        self._on_error = on_error
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{name}", daemon=True)

    def start(self) -> Stream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._target(self.stopped)
        except IstioTuiError as err:
            if not self.stopped.is_set():
                self._on_error(err)
        except Exception as err:  # the one place a stream's unexpected failure is caught and reported
            if not self.stopped.is_set():
                self._on_error(err)
