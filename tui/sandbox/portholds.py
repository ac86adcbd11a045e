"""NodePorts held on the host from the moment a sandbox hands one out until its data plane listens on it.

A nodePort is picked free (nothing bound on 127.0.0.1) when the Service is created, but the data plane binds
it only once the gateway's pods run, seconds later. Two sandboxes on one machine that picked the same port in
that gap (the pick is deterministic) both believed it theirs, and the one that bound first answered the
other's traffic. kube-proxy holds a nodePort open for the same reason. A hold is a socket bound without
``SO_REUSEADDR``: every other bind of the port fails, connections are still refused, and the owning sandbox
lets go of it just before its own listener binds.
"""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
_held: dict[int, tuple[object, socket.socket]] = {}


def hold(port: int, *, owner: object) -> bool:
    """Hold 127.0.0.1:``port`` for ``owner``; False when anything else (another owner, another program)
    already has it."""
    with _lock:
        if port in _held:
            return _held[port][0] is owner
        sock = _bound(port, reuse=False)
        if sock is None:
            # Connections left in TIME_WAIT by an earlier listener block a plain bind but not a listener's
            # (which sets SO_REUSEADDR), so the port is free to hand out, with a weaker hold.
            sock = _bound(port, reuse=True)
        if sock is None:
            return False
        _held[port] = (owner, sock)
        return True


def _bound(port: int, *, reuse: bool) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def release(port: int) -> None:
    with _lock:
        entry = _held.pop(port, None)
    if entry is not None:
        entry[1].close()


def release_all(*, owner: object) -> None:
    with _lock:
        ports = [port for port, (who, _) in _held.items() if who is owner]
    for port in ports:
        release(port)
