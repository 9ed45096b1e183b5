"""The map data: entry checks, map files, and the order of a diff (held to its safety argument by
replaying every intermediate state of random changes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefixgate.edge.haproxy_maps import MAP_NAMES, MapSet, Step, check_entry, plan_changes, write_map_files


def test_a_diff_moves_pointers_off_changing_numbers_first_and_deletes_what_goes_last() -> None:
    old = {
        "spectrum_ip.map": {"1.2.3.4": "1", "1.2.3.5": "2"},
        "spectrum_port.map": {"65558": "a|served|10.0.0.1|0|off", "131094": "b|served|10.0.0.2|0|off"},
        "hostname.map": {"x.example": "h1|acct|served|10.0.0.3"},
    }
    new = {
        "spectrum_ip.map": {"1.2.3.4": "2", "1.2.3.6": "1"},
        "spectrum_port.map": {"65558": "c|served|10.0.0.9|0|off", "131094": "b|served|10.0.0.2|0|off"},
        "hostname.map": {"x.example": "h1|acct|zone_paused|10.0.0.3"},
    }
    assert plan_changes(old, new) == [
        Step("del", "spectrum_ip.map", "1.2.3.4"),  # it leaves slot 1, whose port entry changes: first out
        Step("set", "spectrum_port.map", "65558", "c|served|10.0.0.9|0|off"),
        Step("set", "hostname.map", "x.example", "h1|acct|zone_paused|10.0.0.3"),  # its grants stay: in place
        Step("add", "spectrum_ip.map", "1.2.3.6", "1"),
        Step("add", "spectrum_ip.map", "1.2.3.4", "2"),
        Step("del", "spectrum_ip.map", "1.2.3.5"),  # what goes, goes last: 1.2.3.5 keeps its answer till then
    ]
    assert plan_changes(new, new) == []


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("hostname.map", "a b", "v"),
        ("hostname.map", "a", "v;w"),
        ("hostname.map", "a", ""),
        ("hostname.map", "a\\", "v"),
        ("hostname.map", "#a", "v"),
        ("other.map", "a", "v"),
    ],
)
def test_entries_haproxy_would_misread_are_refused(name: str, key: str, value: str) -> None:
    with pytest.raises(ValueError, match="map"):
        check_entry(name, key, value)
    with pytest.raises(ValueError, match="map"):
        plan_changes({}, {name: {key: value}})


def test_map_files_hold_every_map_sorted(tmp_path: Path) -> None:
    write_map_files(tmp_path, {"cdn_ip.map": {"1.2.3.128/25": "2", "1.2.3.0/25": "1"}})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(MAP_NAMES)
    assert (tmp_path / "cdn_ip.map").read_text() == "1.2.3.0/25 1\n1.2.3.128/25 2\n"
    assert (tmp_path / "hostname.map").read_text() == ""


# -- the safety argument, replayed --------------------------------------------------------------

IPS = ("1.2.3.4", "1.2.3.5", "1.2.3.6")
HOSTS = ("a.example", "b.example")


def spectrum_answer(m: MapSet, ip: str, port: int) -> str | None:
    slot = m.get("spectrum_ip.map", {}).get(ip)
    value = m.get("spectrum_port.map", {}).get(str(int(slot) * 65536 + port)) if slot else None
    return value if value and value.split("|")[1] == "served" else None


def cdn_answer(m: MapSet, ip: str, host: str) -> str | None:
    value = m.get("hostname.map", {}).get(host)
    block = m.get("cdn_ip.map", {}).get(ip)
    if not value or block is None or value.split("|")[2] != "served":
        return None
    granted = m.get("cdn_grant.map", {}).get(f"{block}|{value.split('|')[1]}") == "1"
    return value if granted else None


def answers(m: MapSet) -> dict[tuple[str, ...], str | None]:
    out: dict[tuple[str, ...], str | None] = {}
    for ip in IPS:
        for port in (22, 80):
            out[("spectrum", ip, str(port))] = spectrum_answer(m, ip, port)
        for host in HOSTS:
            out[("cdn", ip, host)] = cdn_answer(m, ip, host)
    return out


def mapsets() -> st.SearchStrategy[dict[str, dict[str, str]]]:
    slot = st.sampled_from(["1", "2", "3"])
    port_key = st.builds(lambda s, p: str(s * 65536 + p), st.integers(1, 3), st.sampled_from([22, 80]))
    port_value = st.builds(
        lambda app, outcome: f"{app}|{outcome}|10.0.0.1|0|off",
        st.sampled_from("pqr"),
        st.sampled_from(["served", "app_blocked"]),
    )
    host_value = st.builds(
        lambda hid, acct, outcome: f"{hid}|{acct}|{outcome}|10.0.0.2",
        st.sampled_from("hk"),
        st.sampled_from("xy"),
        st.sampled_from(["served", "zone_paused"]),
    )
    grant_key = st.builds(lambda b, a: f"{b}|{a}", st.sampled_from("12"), st.sampled_from("xy"))
    return st.fixed_dictionaries(
        {
            "spectrum_ip.map": st.dictionaries(st.sampled_from(IPS), slot),
            "spectrum_port.map": st.dictionaries(port_key, port_value),
            "cdn_ip.map": st.dictionaries(st.sampled_from(IPS), st.sampled_from("12")),
            "cdn_grant.map": st.dictionaries(grant_key, st.just("1")),
            "hostname.map": st.dictionaries(st.sampled_from(HOSTS), host_value),
        }
    )


@settings(max_examples=400, deadline=None)
@given(mapsets(), mapsets())
def test_no_moment_of_a_diff_serves_what_neither_side_serves(
    old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]
) -> None:
    before, after = answers(old), answers(new)
    state = {name: dict(entries) for name, entries in old.items()}
    for step in plan_changes(old, new):
        if step.op == "del":
            del state[step.name][step.key]
        else:
            assert (step.key in state[step.name]) == (step.op == "set")
            state[step.name][step.key] = step.value or ""
        for question, answer in answers(state).items():
            assert answer is None or answer in (before[question], after[question]), (step, question)
    assert state == new


def test_a_hostname_keeps_its_entry_while_its_grants_stay_and_leaves_it_while_they_change() -> None:
    """A new origin address for a.example is set in place (no moment refuses it); b.example's account
    gains a grant in the same change, so b.example is out while the grants change."""
    old = {
        "cdn_ip.map": {"1.2.3.4": "1"},
        "cdn_grant.map": {"1|x": "1"},
        "hostname.map": {"a.example": "h|x|served|10.0.0.2", "b.example": "k|y|served|10.0.0.2"},
    }
    new = {
        "cdn_ip.map": {"1.2.3.4": "1"},
        "cdn_grant.map": {"1|x": "1", "1|y": "1"},
        "hostname.map": {"a.example": "h|x|served|10.0.0.3", "b.example": "k|y|served|10.0.0.3"},
    }
    assert plan_changes(old, new) == [
        Step("del", "hostname.map", "b.example"),
        Step("add", "cdn_grant.map", "1|y", "1"),
        Step("set", "hostname.map", "a.example", "h|x|served|10.0.0.3"),
        Step("add", "hostname.map", "b.example", "k|y|served|10.0.0.3"),
    ]
