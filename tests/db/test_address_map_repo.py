"""The address-map repository's range query (what revocation asks) against brute force, on both engines,
with addresses at the edges of the key space and of each family."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.address_maps import AddressMap, MapIp
from prefixgate.domain.net import IPAddress, IPNetwork
from prefixgate.service import identity
from prefixgate.service.context import Actor, new_id, utcnow
from tests.support import fresh_database_url, migrated_database

EDGES = ("0.0.0.0", "0.0.0.1", "255.255.255.255", "10.0.0.0", "10.0.0.255", "10.0.1.0", "::", "::1", "2a0f::")
EDGES += ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2a0f::ffff", "2a0f::1:0")
NETS = ("0.0.0.0/0", "10.0.0.0/24", "10.0.0.0/31", "255.255.255.255/32", "::/0", "2a0f::/112", "2a0f::/127")


@pytest.fixture
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("maprepo"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


def test_ips_in_range_matches_brute_force(db: SqlDatabase) -> None:
    rng = random.Random(20261202)
    accounts = [identity.create_account(db, Actor.cli(), f"acct {i}").id for i in range(3)]
    addresses: list[IPAddress] = [ipaddress.ip_address(t) for t in EDGES]
    addresses += [ipaddress.ip_address(f"10.0.{rng.randrange(3)}.{rng.randrange(256)}") for _ in range(60)]
    addresses += [ipaddress.ip_address(f"2a0f::{rng.randrange(3)}:{rng.randrange(65536):x}") for _ in range(60)]
    stored: list[MapIp] = []
    with db.write() as uow:
        for account in accounts:
            for _ in range(2):
                now = utcnow()
                m = AddressMap(new_id(), account, None, None, False, now, now)
                uow.address_maps.add(m)
                ips = [MapIp(m.id, account, ip, now) for ip in set(rng.sample(addresses, 40))]
                uow.address_maps.add_ips(ips)
                stored += ips
        uow.commit()

    def expected(net: IPNetwork, account: str | None) -> list[tuple[str, IPAddress]]:
        hits = [i for i in stored if i.ip.version == net.version and i.ip in net]
        hits = [i for i in hits if account is None or i.account_id == account]
        return sorted((i.map_id, i.ip) for i in hits)

    with db.read() as uow:
        for text in NETS:
            net = ipaddress.ip_network(text)
            for account in (None, *accounts):
                got = [(i.map_id, i.ip) for i in uow.address_maps.ips_in_range(net, account_id=account)]
                assert got == expected(net, account), (text, account)
