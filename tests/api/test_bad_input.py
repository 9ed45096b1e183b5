"""Bad input over real HTTP: every case gets a clear 4xx Cloudflare error envelope, never a 5xx,
and changes nothing (prefixes, delegations, members, tokens and audit logs of every tenant)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    NO_ID,
    Scene,
    assert_refused,
    build_scene,
    create_prefix,
    delegate,
    delegations_url,
    first_subnet,
    prefix_url,
    prefixes_url,
    world_state,
)
from tests.support import Server, World, make_world, unique_v6_prefix

Text = Callable[[Scene], str]
Expect = str | Text | None
Status = int | set[int]
BAD = 1001  # a field of the request is invalid


@dataclass(frozen=True)
class Call:
    """One request, sent with the token of `who` (a World member's name)."""

    method: str
    url: str
    json: Any = None
    content: bytes | Iterator[bytes] | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    who: str = "alice"

    def send(self, world: World) -> httpx.Response:
        client = world.client(getattr(world, self.who))
        return client.request(
            self.method, self.url, json=self.json, content=self.content, params=self.params, headers=self.headers
        )


Build = Callable[[Scene], Call]


@pytest.fixture(scope="module")
def scene(server: Server) -> Iterator[Scene]:
    """One populated world for the whole matrix: every case must leave it exactly as it was."""
    world = make_world(server)
    yield build_scene(world)
    world.close()


def refused_without_change(scene: Scene, call: Call, status: Status, code: Status | None, contains: Expect) -> str:
    before = world_state(scene.w)
    expected = contains(scene) if callable(contains) else contains
    message = assert_refused(call.send(scene.w), status, code, expected)
    assert world_state(scene.w) == before, f"{call.method} {call.url} changed state"
    return message


def v4(s: Scene) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(s.free4)


def v6(s: Scene) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(s.free6)


def zero_padded(net: ipaddress.IPv6Network) -> str:
    """The `2a0f:0000:0007::/48` spelling: every group written with four digits."""
    groups = str(net.network_address).split(":")
    return ":".join(g.zfill(4) if g else g for g in groups) + f"/{net.prefixlen}"


def free4(s: Scene) -> str:
    return s.free4


def free6(s: Scene) -> str:
    return s.free6


def bare4(s: Scene) -> str:
    return str(v4(s).network_address)


def bare6(s: Scene) -> str:
    return str(v6(s).network_address)


# --- CIDRs offered as a new prefix -----------------------------------------------------------

CIDR_CASES = [
    pytest.param(lambda s: f"{v4(s).network_address + 4}/24", 1101, free4, id="v4-host-bits"),
    pytest.param(lambda s: f"{v6(s).network_address + 1}/48", 1101, free6, id="v6-host-bits"),
    pytest.param(lambda s: f"{bare4(s)}/25", 1103, "at most /24", id="v4-slash-25"),
    pytest.param(lambda s: f"{bare4(s)}/32", 1103, "at most /24", id="v4-slash-32"),
    pytest.param(lambda s: f"{bare6(s)}/49", 1103, "at most /48", id="v6-slash-49"),
    pytest.param(lambda s: f"{bare6(s)}/64", 1103, "at most /48", id="v6-slash-64"),
    pytest.param(lambda s: f"{bare6(s)}/128", 1103, "at most /48", id="v6-slash-128"),
    pytest.param(lambda s: "::ffff:1.2.3.4/128", 1100, "IPv4-mapped", id="v4-mapped-host"),
    pytest.param(lambda s: f"::ffff:{bare4(s)}/120", 1100, "IPv4-mapped", id="v4-mapped-net"),
    pytest.param(lambda s: "::/48", {1100, 1102}, None, id="v6-unspecified"),
    pytest.param(lambda s: "::/0", {1100, 1102}, None, id="v6-everything"),
    pytest.param(lambda s: "fe80::1%eth0/64", 1100, "zone id", id="zone-id-link-local"),
    pytest.param(lambda s: f"{bare6(s)}%eth0/48", 1100, "zone id", id="zone-id-global"),
    pytest.param(lambda s: s.free6.upper(), 1101, free6, id="v6-upper-case"),
    pytest.param(lambda s: zero_padded(v6(s)), 1101, free6, id="v6-zero-padded-groups"),
    pytest.param(lambda s: v6(s).exploded, 1101, free6, id="v6-exploded"),
    pytest.param(lambda s: f"{bare4(s)}/255.255.255.0", 1100, "/<prefix length>", id="v4-netmask"),
    pytest.param(lambda s: f"{bare4(s)}/0.0.0.255", 1100, None, id="v4-hostmask"),
    pytest.param(lambda s: f"{bare6(s)}/ffff:ffff:ffff::", 1100, None, id="v6-netmask"),
    pytest.param(bare4, 1101, "/32", id="v4-no-length"),
    pytest.param(bare6, 1101, "/128", id="v6-no-length"),
    pytest.param(lambda s: f"{bare4(s)}/", 1100, None, id="empty-length"),
    pytest.param(lambda s: f"{bare4(s)}/024", 1101, free4, id="length-leading-zero"),
    pytest.param(lambda s: f"{bare4(s)}/+24", 1100, None, id="length-plus-sign"),
    pytest.param(lambda s: f"{bare4(s)}/-1", 1100, None, id="length-negative"),
    pytest.param(lambda s: f"{bare4(s)}/33", 1100, None, id="v4-length-33"),
    pytest.param(lambda s: f"{bare6(s)}/129", 1100, None, id="v6-length-129"),
    pytest.param(lambda s: f"{bare4(s)}/\uff12\uff14", 1100, None, id="fullwidth-digits"),
    pytest.param(lambda s: f"{s.free4}/24", 1100, None, id="two-lengths"),
    pytest.param(lambda s: f" {s.free4}", 1100, "whitespace", id="leading-space"),
    pytest.param(lambda s: f"{s.free4} ", 1100, "whitespace", id="trailing-space"),
    pytest.param(lambda s: f"{s.free4}\n", 1100, "whitespace", id="trailing-newline"),
    pytest.param(lambda s: f"{bare4(s)} /24", 1100, "whitespace", id="space-before-slash"),
    pytest.param(lambda s: s.free4.replace(".", ".0", 1), 1100, None, id="v4-leading-zero-octet"),
    pytest.param(lambda s: "garbage", 1100, "not a valid CIDR", id="garbage"),
    pytest.param(lambda s: "", 1100, None, id="empty-string"),
    pytest.param(lambda s: "/24", 1100, None, id="only-length"),
    pytest.param(lambda s: "5.0.0/24", 1100, None, id="three-octets"),
    pytest.param(lambda s: "300.1.2.0/24", 1100, None, id="octet-300"),
    pytest.param(lambda s: "\U0001f642/24", 1100, None, id="emoji"),
    pytest.param(lambda s: "\x00", 1100, None, id="nul"),
    pytest.param(lambda s: "x" * 64, 1100, None, id="64-chars"),
    pytest.param(lambda s: "5." + "0" * 63, BAD, "cidr", id="65-chars"),
]

NON_PUBLIC = [
    *("0.0.0.0/24", "10.0.0.0/24", "10.255.255.0/24", "100.64.0.0/24", "127.0.0.0/24", "169.254.0.0/24"),
    *("172.16.0.0/24", "172.31.255.0/24", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/24"),
    *("198.18.0.0/24", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/24", "239.255.255.0/24", "240.0.0.0/24"),
    *("255.255.255.0/24", "0.0.0.0/0", "8.0.0.0/6", "fc00::/48", "fd12:3456:789a::/48", "fe80::/48"),
    *("ff02::/48", "64:ff9b::/48", "2001::/48", "2001:db8::/48", "2001:db8:ffff::/48", "2002::/48", "3fff::/48"),
    "4000::/48",
]


@pytest.mark.parametrize(("cidr", "code", "contains"), CIDR_CASES)
def test_prefix_cidr_refused(scene: Scene, cidr: Text, code: Status, contains: Expect) -> None:
    call = Call("POST", prefixes_url(scene.w.a), json={"cidr": cidr(scene), "asn": 13335})
    refused_without_change(scene, call, 400, code, contains)


@pytest.mark.parametrize("cidr", NON_PUBLIC)
def test_non_public_prefix_refused_on_strict_server(scene: Scene, cidr: str) -> None:
    call = Call("POST", prefixes_url(scene.w.a), json={"cidr": cidr, "asn": 13335})
    message = refused_without_change(scene, call, 400, 1102, "not public unicast space")
    assert cidr in message and "PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES" in message


def test_lab_server_accepts_documentation_ranges(lab_server: Server) -> None:
    world = make_world(lab_server)
    try:
        alice = world.client(world.alice)
        n = int(ipaddress.ip_network(unique_v6_prefix()).network_address) >> 80 & 0xFFF
        for cidr in ("192.0.2.0/24", f"2001:db8:{0xD000 + n:x}::/48"):
            prefix = create_prefix(alice, world.a, cidr)
            assert prefix["cidr"] == cidr and prefix["approved"] == "P"
            d = delegate(alice, world.a, prefix["id"], first_subnet(cidr, 25 if "." in cidr else 56), world.b)
            assert d["parent_prefix_id"] == prefix["id"]
    finally:
        world.close()


# --- everything else -------------------------------------------------------------------------


def case(name: str, build: Build, status: Status, code: Status | None = None, contains: Expect = None) -> Any:
    return pytest.param(build, status, code, contains, id=name)


def send(method: str, url: Text, **params: str) -> Build:
    return lambda s: Call(method, url(s), params=params or None)


def post(url: Text, body: Callable[[Scene], Any], who: str = "alice") -> Build:
    return lambda s: Call("POST", url(s), json=body(s), who=who)


def patch_p4(body: Any) -> Build:
    return lambda s: Call("PATCH", p4(s), json=body)


def raw(content: bytes | Callable[[], Iterator[bytes]], ctype: str = "application/json") -> Build:
    def build(s: Scene) -> Call:
        body = content if isinstance(content, bytes) else content()
        return Call("POST", prefixes(s), content=body, headers={"content-type": ctype})

    return build


def prefix_body(**fields: Any) -> Callable[[Scene], dict[str, Any]]:
    return lambda s: {"cidr": s.free4, "asn": 1, **fields}


def to_b(cidr: Text) -> Callable[[Scene], dict[str, str]]:
    return lambda s: {"cidr": cidr(s), "delegated_account_id": s.w.b}


def member(email: Text, roles: Any = ("Administrator",), **more: Any) -> Callable[[Scene], dict[str, Any]]:
    return lambda s: {"email": email(s), "roles": list(roles) if isinstance(roles, tuple) else roles, **more}


def token(body: dict[str, Any]) -> Build:
    return lambda s: Call("POST", "/user/tokens", json=body)


def chunks() -> Iterator[bytes]:
    yield from (b" " * 10_000 for _ in range(100))


def prefixes(s: Scene) -> str:
    return prefixes_url(s.w.a)


def p4(s: Scene) -> str:
    return prefix_url(s.w.a, s.p4["id"])


def delegs(which: str, account: str = "a") -> Text:
    return lambda s: delegations_url(getattr(s.w, account), getattr(s, which)["id"])


def members(s: Scene) -> str:
    return f"/accounts/{s.w.a}/members"


def audit(s: Scene) -> str:
    return f"/accounts/{s.w.a}/audit_logs"


def ip_access(s: Scene) -> str:
    return f"/accounts/{s.w.a}/addressing/ip_access"


def at(base: Text, tail: Text) -> Text:
    return lambda s: f"{base(s)}/{tail(s)}"


def suffixed(url: Text, tail: str) -> Text:
    return lambda s: url(s) + tail


def to(account: Any) -> Callable[[Scene], dict[str, Any]]:
    """A delegation of all of p4 to `account` (a value, or a function of the scene)."""
    return lambda s: {"cidr": s.p4["cidr"], "delegated_account_id": account(s) if callable(account) else account}


def host_bits_26(s: Scene) -> str:
    return s.p4["cidr"].replace(".0/24", ".4/26")


def first_26(s: Scene) -> str:
    return first_subnet(s.p4["cidr"], 26)


def const(value: str) -> Text:
    return lambda s: value


def supernet(s: Scene) -> str:
    return str(ipaddress.ip_network(s.p4["cidr"]).supernet())


def b_prefixes(s: Scene) -> str:
    return prefixes_url(s.w.b)


def again(which: str) -> Callable[[Scene], dict[str, Any]]:
    """A new prefix with the CIDR of an onboarded one."""
    return lambda s: {"cidr": getattr(s, which)["cidr"], "asn": 1}


def bob(s: Scene) -> str:
    return s.w.bob.email


def prefix_of(which: str | None) -> Text:
    return lambda s: prefix_url(s.w.a, getattr(s, which)["id"] if which else NO_ID)


BACKWARDS = {"not_before": "2031-01-01T00:00:00Z", "expires_on": "2030-01-01T00:00:00Z"}
PREFIX_ROUTES = (("GET", ""), ("DELETE", ""), ("POST", "/validate"), ("GET", "/delegations"))
IP_CASES = (
    *(("empty", "", 1500), ("garbage", "abc", 1500), ("cidr", "5.0.0.1/32", 1500), ("3-octets", "5.0.1", 1500)),
    *(("octet-256", "256.0.0.1", 1500), ("leading-zero", "5.0.0.01", 1500), ("nul", "\x00", 1500)),
    *(("mapped", "::ffff:5.0.0.1", 1100), ("space", " 5.0.0.1", 1100), ("zone", "fe80::1%eth0", 1100)),
    *(("upper", "2A0F::1", 1101), ("uncompressed", "2a0f:0:0:0:0:0:0:1", 1101), ("65-chars", "1" * 65, BAD)),
)
PAGING = (("page", "0"), ("per_page", "0"), ("page", "abc"), ("page", "-1"), ("per_page", "1.5"), ("page", ""))
LISTS = (("prefixes", prefixes, "1001"), ("members", members, "51"), ("audit", audit, "1001"))
CASES = [
    # request bodies that are not what the route reads
    case("1mb-body", raw(b"{" + b" " * 1_000_000 + b"}"), 413, 1002, "exceeds"),
    case("1mb-chunked-body", raw(chunks), 413, 1002, "exceeds"),
    case("not-json", raw(b"not json"), 400, 1000, "not valid JSON"),
    case("truncated-json", raw(b'{"cidr": '), 400, 1000, "not valid JSON"),
    case("not-utf8", raw(b"\xff\xfe"), 400, 1000),
    case("empty-body", raw(b""), 400, 1000, "body is required"),
    case("json-null", raw(b"null"), 400, {1000, BAD}),
    case("form-body", raw(b"cidr=5.0.0.0%2F24&asn=1", "application/x-www-form-urlencoded"), 400),
    case("deeply-nested", raw(b"[" * 100_000 + b"]" * 100_000), 400, 1000),
    case("asn-5000-digits", raw(b'{"cidr": "5.0.0.0/24", "asn": 1' + b"0" * 5000 + b"}"), 400, 1000),
    # wrong JSON types and missing fields
    case("body-is-array", post(prefixes, lambda s: [s.free4]), 400, BAD, "body"),
    case("body-is-string", post(prefixes, free4), 400, BAD, "body"),
    case("cidr-int", post(prefixes, prefix_body(cidr=84148224)), 400, BAD, "cidr"),
    case("asn-string", post(prefixes, prefix_body(asn="13335")), 400, BAD, "asn"),
    case("asn-float", post(prefixes, prefix_body(asn=1.5)), 400, BAD, "asn"),
    case("asn-bool", post(prefixes, prefix_body(asn=True)), 400, BAD, "asn"),
    case("asn-0", post(prefixes, prefix_body(asn=0)), 400, 1106, "asn"),
    case("asn-2-32", post(prefixes, prefix_body(asn=2**32)), 400, 1106, "asn"),
    case("description-list", post(prefixes, prefix_body(description=["x"])), 400, BAD, "description"),
    case("description-too-long", post(prefixes, prefix_body(description="x" * 1001)), 400, BAD, "description"),
    case("loa-id-too-long", post(prefixes, prefix_body(loa_document_id="x" * 33)), 400, BAD, "loa_document_id"),
    case("missing-cidr", post(prefixes, lambda s: {"asn": 1}), 400, BAD, "cidr: Field required"),
    case("missing-asn", post(prefixes, lambda s: {"cidr": s.free4}), 400, BAD, "asn: Field required"),
    case("empty-object", post(prefixes, lambda s: {}), 400, BAD, "Field required"),
    case("edit-no-description", patch_p4({}), 400, BAD, "description"),
    case("edit-description-null", patch_p4({"description": None}), 400, BAD, "description"),
    case("edit-description-int", patch_p4({"description": 5}), 400, BAD, "description"),
    # delegations that break a rule
    case("outside-prefix", post(delegs("p4"), to_b(free4)), 400, 1200, "not inside prefix"),
    case("supernet-of-prefix", post(delegs("p4"), to_b(supernet)), 400, 1200, "not inside prefix"),
    case("v4-in-v6-prefix", post(delegs("p6"), to_b(lambda s: s.p4["cidr"])), 400, 1200),
    case("v6-in-v4-prefix", post(delegs("p4"), to_b(lambda s: first_subnet(s.p6["cidr"], 64))), 400, 1200),
    case("delegation-host-bits", post(delegs("p4"), to_b(host_bits_26)), 400, 1101, first_26),
    case("delegation-garbage", post(delegs("p4"), to_b(const("garbage"))), 400, 1100),
    case("delegatee-unknown", post(delegs("p4"), to(NO_ID)), 400, 1203, NO_ID),
    case("delegatee-is-owner", post(delegs("p4"), to(lambda s: s.w.a)), 400, 1201, "own account"),
    case("delegatee-int", post(delegs("p4"), to(5)), 400, BAD, "delegated_account_id"),
    case("delegatee-too-long", post(delegs("p4"), to("x" * 33)), 400, BAD, "delegated_account_id"),
    case("delegatee-missing", post(delegs("p4"), lambda s: {"cidr": s.p4["cidr"]}), 400, BAD, "delegated_account_id"),
    case("delegation-cidr-missing", post(delegs("p4"), lambda s: {"delegated_account_id": s.w.b}), 400, BAD, "cidr"),
    case("identical-delegation", post(delegs("p4"), to_b(lambda s: s.d4["cidr"])), 409, 1202, lambda s: s.d4["id"]),
    # conflicts with existing prefixes and undeletable prefixes
    case("same-v4-other-account", post(b_prefixes, again("p4"), "bob"), 409, 1104, lambda s: s.p4["cidr"]),
    case("same-v6-other-account", post(b_prefixes, again("p6"), "bob"), 409, 1104, "overlaps"),
    case("covering-other-account", post(b_prefixes, lambda s: {"cidr": supernet(s), "asn": 1}, "bob"), 409, 1104),
    case("same-prefix-same-account", post(prefixes, again("p4")), 409, 1104, "overlaps"),
    case("delete-approved-prefix", send("DELETE", p4), 409, 1105, "approved"),
    case("delete-prefix-with-delegations", send("DELETE", prefix_of("p6")), 409, 1105, "delegation"),
    # unknown ids, and ids that belong to other accounts
    *(
        case(f"{label}-prefix-{m}{tail.replace('/', '-')}", send(m, suffixed(prefix_of(which), tail)), 404, 1003)
        for label, which in (("unknown", None), ("foreign", "e4"))
        for m, tail in PREFIX_ROUTES
    ),
    case("unknown-prefix-PATCH", lambda s: Call("PATCH", prefix_of(None)(s), json={"description": "x"}), 404, 1003),
    case("foreign-prefix-PATCH", lambda s: Call("PATCH", prefix_of("e4")(s), json={"description": "x"}), 404, 1003),
    case("foreign-prefix-delegate", post(delegs("e4"), to_b(lambda s: s.e4["cidr"])), 404, 1003, "prefix not found"),
    case("prefix-id-nul", send("DELETE", lambda s: prefix_url(s.w.a, "%00")), {400, 404}),
    case("prefix-id-5000-chars", send("GET", lambda s: prefix_url(s.w.a, "x" * 5000)), 404, 1003),
    case("unknown-delegation", send("DELETE", at(delegs("p4"), const(NO_ID))), 404, 1003, "delegation not found"),
    case("delegation-wrong-prefix", send("DELETE", at(delegs("p6"), lambda s: s.d4["id"])), 404, 1003),
    case("delegation-via-delegatee", send("DELETE", at(delegs("p4", "b"), lambda s: s.d4["id"])), 403, 9109),
    case("unknown-member-GET", send("GET", at(members, const(NO_ID))), 404, 1003, "member not found"),
    case("unknown-member-DELETE", send("DELETE", at(members, const(NO_ID))), 404, 1003),
    case("foreign-member-GET", send("GET", at(members, lambda s: s.bob_member_id)), 404, 1003),
    case("foreign-member-DELETE", send("DELETE", at(members, lambda s: s.bob_member_id)), 404, 1003),
    case("unknown-token-GET", send("GET", const(f"/user/tokens/{NO_ID}")), 404, 1003, "token not found"),
    case("unknown-token-DELETE", send("DELETE", const(f"/user/tokens/{NO_ID}")), 404, 1003),
    case("foreign-token-GET", send("GET", lambda s: f"/user/tokens/{s.bob_token_id}"), 404, 1003),
    case("foreign-token-DELETE", send("DELETE", lambda s: f"/user/tokens/{s.bob_token_id}"), 404, 1003),
    case("unknown-role", send("GET", lambda s: f"/accounts/{s.w.a}/roles/{NO_ID}"), 404, 1003, "role not found"),
    case("prefix-in-foreign-account", post(lambda s: prefixes_url(s.w.c), prefix_body()), 403, 9109),
    case("no-such-route", send("GET", lambda s: f"/accounts/{s.w.a}/nope"), 404, 7000),
    case("method-not-allowed", send("PUT", prefixes), 405, 7001),
    # pagination
    *(case(f"{n}-{k}-{v}", send("GET", url, **{k: v}), 400, {BAD, 1005}, k) for n, url, _ in LISTS for k, v in PAGING),
    *(
        case(f"{n}-per_page-{big}", send("GET", url, per_page=big), 400, {BAD, 1005}, "per_page")
        for n, url, big in LISTS
    ),
    case("audit-direction", send("GET", audit, direction="sideways"), 400, BAD, "direction"),
    # ip_access
    *(case(f"ip-{label}", send("GET", ip_access, ip=ip), 400, code) for label, ip, code in IP_CASES),
    case("ip-missing", send("GET", ip_access), 400, BAD, "ip: Field required"),
    # members
    case("member-unknown-role", post(members, member(bob, ["nope"])), 400, 1302, "nope"),
    case("member-unknown-user", post(members, member(const("nobody-x@example.com"))), 400, 1301),
    case("member-exists", post(members, member(lambda s: s.w.reader.email)), 409, 1300),
    case("member-bad-email", post(members, member(const("not-an-email"))), 400, BAD),
    case("member-email-int", post(members, lambda s: {"email": 5, "roles": ["Administrator"]}), 400, BAD, "email"),
    case("member-no-roles", post(members, member(bob, [])), 400, BAD, "roles"),
    case("member-roles-string", post(members, member(bob, "Administrator")), 400, BAD, "roles"),
    case("member-status-too-long", post(members, member(bob, status="x" * 17)), 400, BAD, "status"),
    case("member-missing-email", post(members, lambda s: {"roles": ["Administrator"]}), 400, BAD, "email"),
    # tokens
    case("token-policies", token({"name": "x", "policies": [{"effect": "allow"}]}), 400, 1400),
    case("token-blank-name", token({"name": "   "}), 400, BAD, "name"),
    case("token-empty-name", token({"name": ""}), 400, BAD, "name"),
    case("token-long-name", token({"name": "x" * 121}), 400, BAD, "name"),
    case("token-name-int", token({"name": 5}), 400, BAD, "name"),
    case("token-missing-name", token({}), 400, BAD, "name"),
    case("token-bad-date", token({"name": "x", "expires_on": "soon"}), 400, BAD, "expires_on"),
    case("token-expires-before-start", token({"name": "x", **BACKWARDS}), 400, BAD, "expires_on"),
]


@pytest.mark.parametrize(("build", "status", "code", "contains"), CASES)
def test_bad_request_refused_and_changes_nothing(
    scene: Scene, build: Build, status: Status, code: Status | None, contains: Expect
) -> None:
    refused_without_change(scene, build(scene), status, code, contains)
