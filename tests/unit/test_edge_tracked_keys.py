"""st_conns keys as the generated configuration writes them (addresses in HAProxy's `hex`), read back."""

from __future__ import annotations

import pytest

from prefixgate.edge.haproxy_programmer import TrackedConnection, parse_tracked


def test_a_spectrum_key_reads_back_as_text_addresses() -> None:
    key = "7F000001:37564|01020304:22|app-22|"
    assert parse_tracked(key) == TrackedConnection(key, "127.0.0.1:37564", "1.2.3.4", 22, "app-22", "")


def test_ipv6_addresses_and_a_hostname() -> None:
    key = "00000000000000000000000000000001:5000|20010DB80000000000000000000000C1:443|h-shop|shop.example.net"
    t = parse_tracked(key)
    assert t is not None
    assert (t.real_src, t.edge_ip, t.edge_port, t.object_id, t.hostname) == (
        "::1:5000",
        "2001:db8::c1",
        443,
        "h-shop",
        "shop.example.net",
    )


def test_an_ipv4_mapped_source_is_the_same_address_show_sess_prints() -> None:
    # HAProxy prints it as ::ffff:127.0.0.1; close_revoked compares addresses, not their spelling.
    t = parse_tracked("00000000000000000000FFFF7F000001:9|01020304:22|a|")
    assert t is not None
    assert t.real_src == "::ffff:7f00:1:9"


@pytest.mark.parametrize(
    "key",
    [
        "127.0.0.1:1|1.2.3.4:22|app|",  # text addresses: not this configuration's
        "7F000001:1|01020304:22|app",  # three fields
        "7F000001|01020304:22|app|",  # no port
        "7F0000:1|01020304:22|app|",  # neither 4 nor 16 bytes
        "ZZ000001:1|01020304:22|app|",
        "7F000001:x|01020304:22|app|",
    ],
)
def test_keys_this_configuration_did_not_write_are_skipped(key: str) -> None:
    assert parse_tracked(key) is None
