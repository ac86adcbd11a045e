"""Reading a container's log: the query the apiserver understands, and ``kubectl logs -f`` as an iterator."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import urllib3

from tui.errors import Unreachable
from tui.kube.errors import describe_transport_error
from tui.kube.watch import _close_response, _iter_lines, _shutdown_response

if TYPE_CHECKING:
    from tui.kube.client import Cluster

# A followed log may stay quiet for long: stop() ends it, not a read timeout.
FOLLOW_READ_TIMEOUT = 24 * 3600.0
# How a read fails when the socket is shut down under it (urllib3 may also raise ValueError/AttributeError).
_BROKE = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError, AttributeError)


def log_query(
    container: str | None, tail_lines: int | None, *, previous: bool, timestamps: bool
) -> dict[str, str]:
    """``tail_lines`` None asks for the whole log; ``previous`` for the run before the last restart."""
    query = {} if tail_lines is None else {"tailLines": str(tail_lines)}
    if container:
        query["container"] = container
    if previous:
        query["previous"] = "true"
    if timestamps:
        query["timestamps"] = "true"
    return query


class LogFollow:
    """Lines of one container's log as they are written, until it exits or ``stop()`` (from any thread)
    shuts the socket, which ends the iteration at once even while the container is quiet."""

    def __init__(self, cluster: Cluster, path: str, query: Mapping[str, str], *, what: str) -> None:
        self._cluster = cluster
        self._path = path
        self._query = query
        self._what = what
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._live: urllib3.BaseHTTPResponse | None = None

    def __iter__(self) -> Iterator[str]:
        resp = self._cluster._open(
            "GET",
            self._path,
            query=self._query,
            accept="text/plain",
            read_timeout=FOLLOW_READ_TIMEOUT,
            what=self._what,
        )
        with self._lock:
            self._live = resp
        try:
            if self._stopped.is_set():
                return
            if resp.status >= 300:
                raise self._cluster._error(resp.status, resp.read(), what=self._what)
            for line in _iter_lines(resp):
                if self._stopped.is_set():
                    return
                yield line.decode("utf-8", "replace")
        except _BROKE as exc:
            if not self._stopped.is_set():
                raise Unreachable(
                    f"{self._what} on {self._cluster.server} broke off: {describe_transport_error(exc)}"
                ) from None
        finally:
            with self._lock:
                self._live = None
            _close_response(resp)

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            if self._live is not None:
                _shutdown_response(self._live)
