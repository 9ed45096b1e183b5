"""The runtime-API client against a real HAProxy: batches, versions, and refusals as exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prefixgate.edge.haproxy_runtime import RuntimeApi, RuntimeApiError, RuntimeApiUnavailable
from tests.edge.harness import Edge, start_edge


@pytest.fixture
def edge(state_dir: Path) -> Iterator[Edge]:
    e = start_edge(state_dir, {"hostname.map": {"a.example": "h1|acct|served|10.0.0.1"}})
    yield e
    e.supervisor.stop()


def test_payloads_are_cut_into_batches_that_fit(edge: Edge) -> None:
    small = RuntimeApi(edge.settings.socket_path, batch_bytes=1000)
    map_id = edge.settings.map_path("hostname.map")
    entries = {f"h{i}.example": f"h{i}|acct|served|10.0.0.1" for i in range(3000)}
    small.add_map(map_id, entries)
    assert small.show_map(map_id) == {"a.example": "h1|acct|served|10.0.0.1"} | entries
    assert small.del_map(map_id, list(entries)[:2000]) == 2000
    assert len(small.show_map(map_id)) == 1001


def test_a_prepared_version_is_invisible_until_committed(edge: Edge) -> None:
    rt, map_id = edge.runtime, edge.settings.map_path("hostname.map")
    version = rt.prepare_map(map_id)
    rt.add_map(map_id, {"b.example": "h2|acct|served|10.0.0.2"}, version)
    assert rt.show_map(map_id) == {"a.example": "h1|acct|served|10.0.0.1"}
    assert rt.show_map(map_id, version) == {"b.example": "h2|acct|served|10.0.0.2"}
    rt.commit_map(map_id, version)
    assert rt.show_map(map_id) == {"b.example": "h2|acct|served|10.0.0.2"}


def test_backend_sessions_names_every_backend_and_counts_from_zero(edge: Edge) -> None:
    sessions = edge.runtime.backend_sessions()
    assert {"pp_off", "pp_v1", "pp_v2", "tls_pass", "http_route", "st_conns", "st_outcomes"} <= set(sessions)
    assert set(sessions.values()) == {0}


def test_refusals_raise_with_haproxys_answer(edge: Edge) -> None:
    rt, map_id = edge.runtime, edge.settings.map_path("hostname.map")
    with pytest.raises(RuntimeApiError, match="Unknown map identifier"):
        rt.show_map("/nowhere.map")
    with pytest.raises(RuntimeApiError, match="Key not found"):
        rt.del_map(map_id, ["missing.example"])
    assert rt.del_map(map_id, ["missing.example"], missing_ok=True) == 1
    with pytest.raises(RuntimeApiError, match="not found"):
        rt.set_map(map_id, {"missing.example": "x"})
    with pytest.raises(RuntimeApiError, match="out of range"):
        rt.commit_map(map_id, 99)
    with pytest.raises(RuntimeApiError, match="table"):
        rt.show_table("no_such_table")
    assert rt.shutdown_sessions(["0x1234"]) == 1  # already gone is fine
    with pytest.raises(ValueError, match=";"):
        rt.command("show info; show sess")
    assert rt.show_info()["Pid"] == str(edge.supervisor.pid)


def test_an_absent_socket_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(RuntimeApiUnavailable):
        RuntimeApi(tmp_path / "none.sock", timeout=1).show_info()
