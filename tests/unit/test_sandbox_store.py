"""The sandbox store's Python API, which controllers and the data plane call directly."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tui.errors import Conflict, Gone, Invalid, KubeError, NotFound
from tui.sandbox.store import Store, status_body


def ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _events_since(store: Store, rv: int, **kw: Any) -> list[Any]:
    return store.poll(rv, **kw)[0]


def dep(name: str, replicas: int = 1) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "d"}, "spec": {"replicas": replicas}}


@pytest.fixture
def store() -> Store:
    s = Store(seed=1)
    s.create("namespaces", ns("d"))
    return s


def test_create_fills_metadata_and_bumps_one_global_rv(store: Store) -> None:
    a = store.create("configmaps", {"metadata": {"name": "a", "namespace": "d"}})
    b = store.create("deployments.apps", dep("b"))
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert "generation" not in a["metadata"] and b["metadata"]["generation"] == 1
    assert a["metadata"]["uid"] != b["metadata"]["uid"]
    assert store.resource_version == b["metadata"]["resourceVersion"]


def test_seeded_uids_are_reproducible() -> None:
    def uids() -> list[str]:
        s = Store(seed=7)
        return [s.create("namespaces", ns(n))["metadata"]["uid"] for n in ("a", "b")]

    assert uids() == uids()


def test_errors_carry_status_bodies(store: Store) -> None:
    with pytest.raises(NotFound) as nf:
        store.create("configmaps", {"metadata": {"name": "x", "namespace": "nope"}})
    assert nf.value.status["message"] == 'namespaces "nope" not found'
    store.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}})
    with pytest.raises(Conflict) as dup:
        store.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}})
    assert dup.value.reason == "AlreadyExists" and dup.value.code == 409
    stale = {"metadata": {"name": "x", "namespace": "d", "resourceVersion": "1"}, "data": {"a": "b"}}
    with pytest.raises(Conflict) as conflict:
        store.replace("configmaps", stale)
    assert conflict.value.reason == "Conflict"
    with pytest.raises(Invalid):
        store.create("configmaps", {"metadata": {"namespace": "d"}})
    with pytest.raises(NotFound):
        store.delete("configmaps", "nope", namespace="d")


def test_update_is_atomic_and_a_no_op_keeps_the_rv(store: Store) -> None:
    created = store.create("deployments.apps", dep("w"))
    same = store.update("deployments.apps", "w", namespace="d", mutate=lambda o: None)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    status = store.update(
        "deployments.apps", "w", namespace="d", mutate=lambda o: o.update(status={"readyReplicas": 1})
    )
    assert status["metadata"]["generation"] == 1
    scaled = store.update(
        "deployments.apps", "w", namespace="d", mutate=lambda o: o["spec"].update(replicas=3)
    )
    assert scaled["metadata"]["generation"] == 2 and scaled["status"] == {"readyReplicas": 1}

    def bump(o: dict[str, Any]) -> None:
        o["spec"]["replicas"] += 1

    threads = [
        threading.Thread(
            target=lambda: [
                store.update("deployments.apps", "w", namespace="d", mutate=bump) for _ in range(50)
            ]
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("deployments.apps", "w", namespace="d")["spec"]["replicas"] == 203


def test_get_copies_and_list_shares(store: Store) -> None:
    store.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}, "data": {"a": "1"}})
    mine = store.get("configmaps", "x", namespace="d")
    mine["data"]["a"] = "changed"
    assert store.get("configmaps", "x", namespace="d")["data"]["a"] == "1"
    items, rv = store.list("configmaps", namespace="d")
    assert [o["metadata"]["name"] for o in items] == ["x"] and rv == store.resource_version


def test_listeners_and_admission(store: Store) -> None:
    seen: list[tuple[str, str, str]] = []
    store.add_listener(lambda t, k, o: seen.append((t, k, o["metadata"]["name"])))

    def admit(op: str, key: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if key == "configmaps":
            obj.setdefault("metadata", {}).setdefault("labels", {})["admitted"] = op
            if obj["metadata"]["name"] == "rejected":
                msg = "no"
                raise KubeError(msg, code=403, reason="Forbidden", status=status_body(403, "Forbidden", msg))

    store.add_admission(admit)
    created = store.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}})
    assert created["metadata"]["labels"] == {"admitted": "CREATE"}
    updated = store.update("configmaps", "x", namespace="d", mutate=lambda o: o.update(data={"a": "1"}))
    assert updated["metadata"]["labels"] == {"admitted": "UPDATE"}
    with pytest.raises(KubeError):
        store.create("configmaps", {"metadata": {"name": "rejected", "namespace": "d"}})
    store.delete("configmaps", "x", namespace="d")
    assert seen == [
        ("ADDED", "configmaps", "x"),
        ("MODIFIED", "configmaps", "x"),
        ("DELETED", "configmaps", "x"),
    ]


def test_event_log_and_gone(store: Store) -> None:
    start = int(store.resource_version)
    store.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}})
    store.create("deployments.apps", dep("w"))
    assert [e.type for e in _events_since(store, start)] == ["ADDED", "ADDED"]
    assert [e.key for e in _events_since(store, start, keys=["deployments.apps"])] == ["deployments.apps"]
    current = int(store.resource_version)
    with pytest.raises(KubeError) as ahead:
        _events_since(store, current + 5)
    assert not isinstance(ahead.value, Gone)
    assert (ahead.value.code, ahead.value.reason) == (504, "Timeout")
    assert ahead.value.status["details"] == {
        "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
        "retryAfterSeconds": 1,
    }
    assert str(current) in ahead.value.message
    store.compact()
    with pytest.raises(Gone):
        _events_since(store, start)
    assert _events_since(store, int(store.resource_version)) == []


def test_bounded_history_expires_old_versions() -> None:
    s = Store(history=5)
    s.create("namespaces", ns("d"))
    start = int(s.resource_version)
    for i in range(10):
        s.create("configmaps", {"metadata": {"name": f"c{i}", "namespace": "d"}})
    with pytest.raises(Gone):
        _events_since(s, start)
    assert len(_events_since(s, int(s.resource_version) - 3)) == 3


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    s = Store(state_file=path)
    s.create("namespaces", ns("d"))
    s.create("configmaps", {"metadata": {"name": "x", "namespace": "d"}})
    s.delete("configmaps", "x", namespace="d")
    s.set_meta("token", "t0k")
    rv = int(s.resource_version)
    s.close()
    again = Store(state_file=path)
    assert int(again.resource_version) == rv and again.get_meta("token") == "t0k"
    assert again.try_get("configmaps", "x", namespace="d") is None
    assert [e.type for e in _events_since(again, rv - 2)] == ["ADDED", "DELETED"]
    assert again.create("namespaces", ns("e"))["metadata"]["resourceVersion"] == str(rv + 1)


def test_a_locked_state_file_refuses_writes_cleanly_and_recovers(tmp_path: Path) -> None:
    import sqlite3
    import time

    path = tmp_path / "s.db"
    s = Store(state_file=path)
    s.create("namespaces", ns("d"))
    rv, events = s.resource_version, len(_events_since(s, 0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    start = time.monotonic()
    with pytest.raises(KubeError) as info:
        s.create("configmaps", {"metadata": {"name": "lost", "namespace": "d"}})
    assert time.monotonic() - start < 2
    assert info.value.code == 503 and info.value.status is not None
    assert info.value.status["details"]["retryAfterSeconds"] == 1
    with pytest.raises(KubeError):
        s.delete("namespaces", "d")
    assert s.try_get("configmaps", "lost", namespace="d") is None and s.try_get("namespaces", "d")
    assert (s.resource_version, len(_events_since(s, 0))) == (rv, events)
    other.execute("ROLLBACK")
    other.close()
    kept = s.create("configmaps", {"metadata": {"name": "kept", "namespace": "d"}})
    assert kept["metadata"]["resourceVersion"] == str(int(rv) + 1)
    s.close()
    again = Store(state_file=path)
    assert again.try_get("configmaps", "kept", namespace="d") is not None
    assert again.try_get("configmaps", "lost", namespace="d") is None
    assert again.resource_version == kept["metadata"]["resourceVersion"]


def test_a_second_store_on_the_same_file_is_refused(tmp_path: Path) -> None:
    from tui.errors import ConfigError

    path = tmp_path / "s.db"
    first = Store(state_file=path)
    with pytest.raises(ConfigError, match=f"{path} is in use by another sandbox"):
        Store(state_file=path)
    first.close()
    Store(state_file=path).close()


def test_hand_edited_rows_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    path = tmp_path / "s.db"
    s = Store(state_file=path)
    s.create("namespaces", ns("d"))
    s.create("configmaps", {"metadata": {"name": "good", "namespace": "d"}})
    s.close()
    db = sqlite3.connect(path, isolation_level=None)
    for name, body in (("n", "null"), ("l", "[1,2]"), ("k", '{"kind":"Pod"}'), ("t", "{not json")):
        db.execute("INSERT INTO objects VALUES ('pods', 'd', ?, ?)", (name, body))
    db.execute("UPDATE events SET body = 'null' WHERE rv = 1")
    db.close()
    again = Store(state_file=path)
    assert again.try_get("configmaps", "good", namespace="d") is not None
    assert [o["metadata"]["name"] for o in again.list("pods")[0]] == []
    warnings = [r.getMessage() for r in caplog.records]
    for name in ("d/n", "d/l", "d/k", "d/t"):
        assert any(f"pods row {name}" in w for w in warnings), warnings
    assert [e.type for e in _events_since(again, 1)] == ["ADDED"]
    assert again.update("configmaps", "good", namespace="d", mutate=lambda o: o.update(data={"a": "1"}))
