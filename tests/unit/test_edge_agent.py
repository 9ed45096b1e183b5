"""The agent's decision of which tracked connections to close (prefixgate.edge.agent): the table's
answer for each, looked up once per destination, object and hostname however many connections share them."""

from __future__ import annotations

import ipaddress
from typing import cast

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.net import IPAddress
from prefixgate.edge.agent import _served_by
from prefixgate.edge.state import BindingRow, DelegationRow, EdgeState, HostnameRow
from prefixgate.edge.table import Answer, EdgeTable, Tracked, compile_table, stale_connections
from tests.unit.test_edge_table import OTHER, P, Z, _app

ip = ipaddress.ip_address


class CountingTable:
    """The real table, counting the lookups made through it."""

    def __init__(self, table: EdgeTable) -> None:
        self.table = table
        self.lookups = 0

    def spectrum(self, address: IPAddress | str, transport: str, port: int) -> Answer:
        self.lookups += 1
        return self.table.spectrum(address, transport, port)

    def hostname(self, address: IPAddress | str, name: str) -> Answer:
        self.lookups += 1
        return self.table.hostname(address, name)


def test_each_destination_is_decided_once_and_as_the_table_answers() -> None:
    rows = [
        P,
        Z,
        HostnameRow("h1", Z.id, OTHER, "shop.example.net", None),
        _app("app1", "tcp/22", "active", 0, "203.0.113.5"),
        DelegationRow("d1", P.id, ipaddress.ip_network("203.0.113.0/25"), OTHER),
        BindingRow("b1", P.id, P.cidr, SPECTRUM.id),
        BindingRow("b2", P.id, ipaddress.ip_network("203.0.113.64/26"), CDN.id),
    ]
    table = compile_table(EdgeState.of(1, rows))
    distinct = [
        Tracked(ip("203.0.113.5"), 22, "app1", None),
        Tracked(ip("203.0.113.70"), 443, "h1", "shop.example.net"),
        Tracked(ip("203.0.113.5"), 23, "app1", None),
        Tracked(ip("203.0.113.5"), 22, "app0", None),
        Tracked(ip("203.0.113.200"), 443, "h1", "shop.example.net"),
    ]
    counting = CountingTable(table)
    still_served = _served_by(cast(EdgeTable, counting))
    connections = distinct * 50  # many client sockets to each destination
    decided = [still_served(t) for t in connections]
    assert decided == [not stale_connections(table, (t,)) for t in connections]
    assert decided[:5] == [True, True, False, False, False]
    assert counting.lookups == len(distinct)
