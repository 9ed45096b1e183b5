"""Custom hostnames and fallback origins driven by the unmodified official Cloudflare SDK (5.x), over
real HTTP, validated against the real loopback DNS server (`session_dns`).

The stage (tests/api/cdn_helpers.py): A owns a /24 bound to CDN and delegates its first /25 to B; every
zone has a fallback origin. What the plain-HTTP tests (test_custom_hostnames.py) check about behaviour
is not repeated: these tests check that the SDK sends what our server understands and parses every
field our server answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import httpx
import pytest
from cloudflare import (
    APIStatusError,
    BadRequestError,
    Cloudflare,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from cloudflare.types.custom_hostnames import (
    CustomHostnameCreateResponse,
    CustomHostnameDeleteResponse,
    CustomHostnameEditResponse,
    CustomHostnameGetResponse,
    CustomHostnameListResponse,
    FallbackOriginDeleteResponse,
    FallbackOriginGetResponse,
    FallbackOriginUpdateResponse,
)
from cloudflare.types.custom_hostnames.custom_hostname_create_params import SSL
from pydantic import BaseModel as PydanticModel

from tests.api.cdn_helpers import NO_CNAME, NO_FALLBACK, CdnStage, fallback_url, hostname_url, sdk_validate, shop_name
from tests.api.conftest import SdkFor
from tests.api.helpers import assert_ok, present
from tests.api.spectrum_helpers import create_zone, member_with_role
from tests.support import Member


def refused(fn: Callable[[], object], error: type[APIStatusError]) -> list[dict[str, Any]]:
    """Call fn; the SDK must raise exactly `error`. Returns the envelope's errors."""
    with pytest.raises(APIStatusError) as info:
        fn()
    assert type(info.value) is error, info.value
    body = info.value.body
    assert isinstance(body, dict) and body["success"] is False and body["result"] is None, body
    errors: list[dict[str, Any]] = body["errors"]
    return errors


def no_extras(model: PydanticModel) -> None:
    """Every field we answer is one the SDK knows (none lands in the model's extras), at every depth."""
    assert not model.model_extra, (type(model).__name__, model.model_extra)
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, PydanticModel):
                no_extras(item)


def ssl_body(**extra: Any) -> SSL:
    """The `ssl` of a create: TXT validation, plus `extra` (which may hold fields the SDK's type lacks)."""
    return cast(SSL, {"method": "txt", "type": "dv", **extra})


@contextmanager
def recording_sdk(who: Member, api: str) -> Iterator[tuple[Cloudflare, list[httpx.Request]]]:
    """An SDK client whose HTTP requests are recorded (to see which pages auto-pagination asks for)."""
    seen: list[httpx.Request] = []
    http = httpx.Client(event_hooks={"request": [seen.append]})
    cf = Cloudflare(api_token=who.token, base_url=api, max_retries=0, http_client=http)
    try:
        yield cf, seen
    finally:
        cf.close()
        http.close()


def test_sdk_create_parses_every_field(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    zone = cdn.zone("b")
    name = shop_name()
    settings = {"min_tls_version": "1.2", "http2": "on", "tls_1_3": "on", "early_hints": "off"}
    ciphers = ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"]
    before = datetime.now(UTC)
    made = present(
        cf.custom_hostnames.create(
            zone_id=zone["id"],
            hostname=name,
            ssl=ssl_body(
                settings={**settings, "ciphers": ciphers},
                bundle_method="optimal",
                wildcard=False,
                certificate_authority="google",
            ),
            custom_metadata={"customer": "shop-1", "plan": "gold"},
            custom_origin_server=f"origin.{zone['name']}",
            custom_origin_sni=":request_host_header:",
        )
    )
    assert isinstance(made, CustomHostnameCreateResponse)
    no_extras(made)
    assert str(uuid.UUID(made.id)) == made.id
    assert (made.hostname, made.status, made.verification_errors) == (name, "pending", [])
    assert isinstance(made.created_at, datetime) and made.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= made.created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert made.custom_metadata == {"customer": "shop-1", "plan": "gold"}
    assert (made.custom_origin_server, made.custom_origin_sni) == (f"origin.{zone['name']}", ":request_host_header:")

    ssl = present(made.ssl)
    assert str(uuid.UUID(present(ssl.id))) == ssl.id and ssl.id != made.id
    assert (ssl.status, ssl.method, ssl.type) == ("initializing", "txt", "dv")
    assert (ssl.bundle_method, ssl.wildcard, ssl.certificate_authority) == ("optimal", False, "google")
    assert (ssl.validation_records, ssl.validation_errors) == ([], [])
    s = present(ssl.settings)
    assert (s.min_tls_version, s.http2, s.tls_1_3, s.early_hints, s.ciphers) == ("1.2", "on", "on", "off", ciphers)
    # No certificate is issued yet: nothing about one is answered.
    assert (ssl.issuer, ssl.serial_number, ssl.expires_on, ssl.custom_certificate) == (None,) * 4

    txt = present(made.ownership_verification)
    assert (txt.type, txt.name) == ("txt", f"_cf-custom-hostname.{name}")
    assert str(uuid.UUID(present(txt.value))) == txt.value
    http = present(made.ownership_verification_http)
    assert http.http_url == f"http://{name}/.well-known/cf-custom-hostname-challenge/{made.id}"
    assert http.http_body == txt.value

    got = present(cf.custom_hostnames.get(made.id, zone_id=zone["id"]))
    assert isinstance(got, CustomHostnameGetResponse)
    assert got.model_dump() == made.model_dump()
    # The SDK builds its objects without validating; validate the raw answer strictly with its model too.
    raw = cdn.get("b", made.id)
    assert CustomHostnameGetResponse.model_validate(raw).model_dump() == got.model_dump()


def test_sdk_defaults_when_only_the_method_is_given(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    made = present(
        cf.custom_hostnames.create(zone_id=cdn.zone("b")["id"], hostname=shop_name(), ssl={"method": "http"})
    )
    no_extras(made)
    ssl = present(made.ssl)
    assert (ssl.method, ssl.type, ssl.bundle_method, ssl.wildcard) == ("http", "dv", "ubiquitous", False)
    assert ssl.certificate_authority is None and present(ssl.settings).model_dump() == dict.fromkeys(
        ("ciphers", "early_hints", "http2", "min_tls_version", "tls_1_3")
    )
    assert (made.custom_metadata, made.custom_origin_server, made.custom_origin_sni) == (None, None, None)


def test_sdk_edit_changes_ssl_origin_and_metadata(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    zone = cdn.zone("b")
    made = present(
        cf.custom_hostnames.create(
            zone_id=zone["id"], hostname=shop_name(), ssl=ssl_body(), custom_metadata={"plan": "free"}
        )
    )
    edited = present(
        cf.custom_hostnames.edit(
            made.id,
            zone_id=zone["id"],
            ssl={"method": "http", "type": "dv", "settings": {"min_tls_version": "1.3", "ciphers": ["AES128-SHA"]}},
            custom_origin_server=f"origin.{zone['name']}",
            custom_origin_sni=f"sni.{zone['name']}",
            custom_metadata={"plan": "gold", "region": "eu"},
        )
    )
    assert isinstance(edited, CustomHostnameEditResponse)
    no_extras(edited)
    assert (edited.id, edited.hostname, edited.created_at) == (made.id, made.hostname, made.created_at)
    ssl = present(edited.ssl)
    assert (ssl.method, ssl.id, ssl.status) == ("http", present(made.ssl).id, "initializing")
    assert present(ssl.settings).min_tls_version == "1.3" and present(ssl.settings).ciphers == ["AES128-SHA"]
    assert present(ssl.settings).http2 is None
    assert edited.custom_origin_server == f"origin.{zone['name']}"
    assert edited.custom_origin_sni == f"sni.{zone['name']}"
    assert edited.custom_metadata == {"plan": "gold", "region": "eu"}
    assert present(edited.ownership_verification).model_dump() == present(made.ownership_verification).model_dump()

    # What an edit leaves out stays; an empty string clears an origin.
    cleared = present(cf.custom_hostnames.edit(made.id, zone_id=zone["id"], custom_origin_server=""))
    assert cleared.custom_origin_server is None and cleared.custom_origin_sni == f"sni.{zone['name']}"
    assert cleared.custom_metadata == {"plan": "gold", "region": "eu"} and present(cleared.ssl).method == "http"
    assert present(cf.custom_hostnames.get(made.id, zone_id=zone["id"])).model_dump() == cleared.model_dump()


def test_sdk_delete_answers_the_id(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    zid = cdn.zone("b")["id"]
    made = present(cf.custom_hostnames.create(zone_id=zid, hostname=shop_name(), ssl=ssl_body()))
    deleted = cf.custom_hostnames.delete(made.id, zone_id=zid)
    assert isinstance(deleted, CustomHostnameDeleteResponse) and deleted.id == made.id
    [gone] = refused(lambda: cf.custom_hostnames.get(made.id, zone_id=zid), NotFoundError)
    assert gone["code"] == 1003
    refused(lambda: cf.custom_hostnames.delete(made.id, zone_id=zid), NotFoundError)
    assert [h.id for h in cf.custom_hostnames.list(zone_id=zid, id=made.id)] == []


def test_sdk_list_auto_paginates_in_creation_order(cdn: CdnStage) -> None:
    zid = cdn.zone("a")["id"]
    with recording_sdk(cdn.world.alice, cdn.world.server.api) as (cf, seen):
        made = [
            present(cf.custom_hostnames.create(zone_id=zid, hostname=shop_name(f"p{i:02}"), ssl=ssl_body())).id
            for i in range(12)
        ]
        first = cf.custom_hostnames.list(zone_id=zid, per_page=5)
        info = present(first.result_info)
        assert (info.page, info.per_page) == (1, 5)
        assert info.model_extra == {"count": 5, "total_count": 12, "total_pages": 3}  # fields the SDK lacks
        assert [h.id for h in first.result] == made[:5] and first.has_next_page()
        assert all(isinstance(h, CustomHostnameListResponse) for h in first.result)

        seen.clear()
        listed = list(cf.custom_hostnames.list(zone_id=zid, per_page=5))
        assert [h.id for h in listed] == made
        # Pages 1 to 3, then page 4 answers [] and the SDK stops.
        asked = [(r.url.path, r.url.params.get("page"), r.url.params["per_page"]) for r in seen]
        assert asked == [(f"/client/v4/zones/{zid}/custom_hostnames", p, "5") for p in (None, "2", "3", "4")]

        newest = [h.id for h in cf.custom_hostnames.list(zone_id=zid, per_page=5, direction="desc")]
        assert newest == made[::-1]
        third = cf.custom_hostnames.list(zone_id=zid, per_page=5, page=3)
        assert [h.id for h in third.result] == made[10:]
        assert present(third.result_info).model_extra == {"count": 2, "total_count": 12, "total_pages": 3}
        assert cf.custom_hostnames.list(zone_id=zid, per_page=5, page=4).result == []


def test_sdk_list_filters_reach_the_server(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    """Each filter the SDK offers is applied (before prefixgate understood `hostname.exact` and the
    others, the server ignored them and answered every hostname)."""
    cf = cdn_sdk(cdn.world.alice)
    zone = cdn.zone("a")
    zid = zone["id"]
    plain = present(cf.custom_hostnames.create(zone_id=zid, hostname=shop_name("plain"), ssl=ssl_body()))
    special = present(
        cf.custom_hostnames.create(
            zone_id=zid,
            hostname=shop_name("special"),
            ssl=ssl_body(wildcard=True, certificate_authority="lets_encrypt"),
            custom_origin_server=f"origin.{zone['name']}",
        )
    )
    cdn.publish(special.model_dump(), cdn.ip(150))
    assert sdk_validate(cf, zid, special.id).status == "active"
    everything = [plain.id, special.id]

    def ids(**query: Any) -> list[str]:
        return [h.id for h in cf.custom_hostnames.list(zone_id=zid, **query)]

    assert ids() == everything
    assert ids(hostname={"exact": special.hostname.upper()}) == [special.id]
    assert ids(hostname={"exact": f"x{special.hostname}"}) == []
    assert ids(hostname={"contain": "special-"}) == [special.id]
    assert ids(hostname={"contain": ".example.net"}) == everything
    assert ids(hostname={"starts_with": "plain-"}) == [plain.id]
    assert ids(hostname={"starts_with": "example"}) == []
    assert ids(id=plain.id) == [plain.id]
    assert ids(hostname_status="active") == [special.id]
    assert ids(hostname_status="pending") == [plain.id]
    assert ids(hostname_status="moved") == []
    assert ids(wildcard=True) == [special.id] and ids(wildcard=False) == [plain.id]
    assert ids(certificate_authority="lets_encrypt") == [special.id] and ids(certificate_authority="google") == []
    assert ids(custom_origin_server=f"origin.{zone['name']}") == [special.id]
    # No certificate is issued yet: every hostname's SSL is initializing.
    assert ids(ssl_status="initializing") == everything and ids(ssl_status="active") == []
    assert ids(ssl=1) == [] and ids(ssl=0) == everything
    assert ids(order="ssl_status", direction="desc") == everything[::-1]

    [both] = refused(lambda: ids(id=plain.id, hostname={"exact": plain.hostname}), BadRequestError)
    assert both["code"] == 1001 and "hostname.exact" in both["message"] and "id" in both["message"]


def test_sdk_validate_extension_then_reads_active(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    zid = cdn.zone("b")["id"]
    made = present(cf.custom_hostnames.create(zone_id=zid, hostname=shop_name(), ssl=ssl_body()))
    pending = sdk_validate(cf, zid, made.id)
    no_extras(pending)
    assert pending.status == "pending" and present(pending.verification_errors)[0] == NO_CNAME

    cdn.publish(made.model_dump(), cdn.ip(10))
    active = sdk_validate(cf, zid, made.id)
    no_extras(active)
    assert (active.id, active.status, active.verification_errors) == (made.id, "active", [])
    got = present(cf.custom_hostnames.get(made.id, zone_id=zid))
    assert (got.status, got.verification_errors) == ("active", [])
    assert got.model_dump() == active.model_dump()
    assert present(got.ssl).status == "initializing"  # the hostname is active; its certificate comes later
    [listed] = list(cf.custom_hostnames.list(zone_id=zid, hostname={"exact": made.hostname}))
    assert listed.status == "active"
    served = cdn.resolve(cdn.ip(10), made.hostname)
    assert (served["served"], served["id"], served["account_id"]) == (True, made.id, cdn.world.b)

    refused(lambda: sdk_validate(cdn_sdk(cdn.world.eve), zid, made.id), NotFoundError)


def test_sdk_fallback_origin_update_get_delete(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    cf = cdn_sdk(cdn.world.bob)
    zone = create_zone(cdn.client("b"), cdn.world.b)  # a zone without a fallback origin yet
    fo = cf.custom_hostnames.fallback_origin
    [none] = refused(lambda: fo.get(zone_id=zone["id"]), NotFoundError)
    assert none["code"] == 1003
    [no_origin] = refused(
        lambda: cf.custom_hostnames.create(zone_id=zone["id"], hostname=shop_name(), ssl=ssl_body()), BadRequestError
    )
    assert no_origin["code"] == 2002 and no_origin["message"].startswith(NO_FALLBACK)

    put = present(fo.update(zone_id=zone["id"], origin=f"fallback.{zone['name']}"))
    assert isinstance(put, FallbackOriginUpdateResponse)
    no_extras(put)
    assert (put.origin, put.status, put.errors) == (f"fallback.{zone['name']}", "active", [])
    assert isinstance(put.created_at, datetime) and put.created_at == put.updated_at
    moved = present(fo.update(zone_id=zone["id"], origin=f"edge.{zone['name']}"))
    assert moved.origin == f"edge.{zone['name']}" and moved.created_at == put.created_at
    assert present(moved.updated_at) >= present(put.updated_at)
    got = present(fo.get(zone_id=zone["id"]))
    assert isinstance(got, FallbackOriginGetResponse)
    assert got.model_dump() == moved.model_dump()
    assert FallbackOriginGetResponse.model_validate(assert_ok(cdn.client("b").get(fallback_url(zone["id"]))))
    [outside] = refused(lambda: fo.update(zone_id=zone["id"], origin="origin.example.org"), BadRequestError)
    assert outside["code"] == 2000

    host = present(cf.custom_hostnames.create(zone_id=zone["id"], hostname=shop_name(), ssl=ssl_body()))
    deleted = present(fo.delete(zone_id=zone["id"]))
    assert isinstance(deleted, FallbackOriginDeleteResponse)
    assert (deleted.origin, deleted.created_at) == (f"edge.{zone['name']}", put.created_at)
    refused(lambda: fo.get(zone_id=zone["id"]), NotFoundError)
    refused(lambda: fo.delete(zone_id=zone["id"]), NotFoundError)
    after = present(cf.custom_hostnames.get(host.id, zone_id=zone["id"]))
    assert (after.status, after.verification_errors) == ("pending", [NO_FALLBACK])


def test_sdk_errors_are_the_sdks_exception_classes(cdn: CdnStage, cdn_sdk: SdkFor) -> None:
    bob, eve = cdn_sdk(cdn.world.bob), cdn_sdk(cdn.world.eve)
    zid = cdn.zone("b")["id"]
    name = shop_name()
    made = present(bob.custom_hostnames.create(zone_id=zid, hostname=name, ssl=ssl_body()))

    def create(hostname: str, cf: Cloudflare = bob, zone_id: str = zid, **extra: Any) -> object:
        return cf.custom_hostnames.create(zone_id=zone_id, hostname=hostname, **{"ssl": ssl_body(), **extra})

    [dup] = refused(lambda: create(name), ConflictError)
    assert dup["code"] == 2003 and name in dup["message"]
    for bad in ("bad_name.example.net", "bücher.example.net", f"{name}.", "*.example.net", "192.0.2.1", "localhost"):
        [err] = refused(partial(create, bad), BadRequestError)
        assert err["code"] == 2000, (bad, err)
    [unicode] = refused(lambda: create("bücher.example.net"), BadRequestError)
    assert "xn--bcher-kva.example.net" in unicode["message"]
    for ssl in (
        {"custom_certificate": "-----BEGIN CERTIFICATE-----"},
        {"custom_cert_bundle": [{"custom_certificate": "-----BEGIN", "custom_key": "-----BEGIN"}]},
        {"custom_csr_id": "7b163417-1d2b-4c84-a38a-2fb7a0cd7752"},
    ):
        [err] = refused(partial(create, shop_name(), ssl=ssl_body(**ssl)), BadRequestError)
        assert err["code"] == 2001 and next(iter(ssl)) in err["message"], err
    refused(lambda: create(shop_name(), custom_origin_server="https://origin.example.net"), BadRequestError)
    refused(lambda: bob.custom_hostnames.edit(made.id, zone_id=zid, custom_origin_sni="a b"), BadRequestError)

    # Another tenant's zone and hostname do not exist for eve, whatever she tries.
    for call in (
        lambda: eve.custom_hostnames.get(made.id, zone_id=zid),
        lambda: eve.custom_hostnames.edit(made.id, zone_id=zid, custom_metadata={"x": "y"}),
        lambda: eve.custom_hostnames.delete(made.id, zone_id=zid),
        lambda: list(eve.custom_hostnames.list(zone_id=zid)),
        lambda: create(shop_name(), cf=eve),
        lambda: eve.custom_hostnames.fallback_origin.get(zone_id=zid),
        lambda: eve.custom_hostnames.get(made.id, zone_id=cdn.zone("c")["id"]),
    ):
        [err] = refused(call, NotFoundError)
        assert err["code"] == 1003
    reader = cdn_sdk(member_with_role(cdn.world, cdn.world.b, "SSL and Certificates: Read"))
    assert present(reader.custom_hostnames.get(made.id, zone_id=zid)).id == made.id
    [denied] = refused(lambda: create(shop_name(), cf=reader), PermissionDeniedError)
    assert denied["code"] == 9109

    # Active in B's zone: another zone of any account cannot have the name (the message names neither).
    cdn.publish(made.model_dump(), cdn.ip(10))
    assert sdk_validate(bob, zid, made.id).status == "active"
    [taken] = refused(lambda: create(name, cf=eve, zone_id=cdn.zone("c")["id"]), ConflictError)
    assert taken["code"] == 2004 and cdn.world.b not in taken["message"] and zid not in taken["message"]
    # Nothing refused was stored.
    assert [h.id for h in bob.custom_hostnames.list(zone_id=zid)] == [made.id]
    assert list(eve.custom_hostnames.list(zone_id=cdn.zone("c")["id"])) == []
    assert present(bob.custom_hostnames.get(made.id, zone_id=zid)).custom_metadata is None


def test_raw_answers_validate_strictly_against_the_sdk_models(cdn: CdnStage) -> None:
    """Every shape a hostname takes (pending with errors, active, edited, with and without the optional
    fields), read raw and validated with the SDK's models, which refuse a wrong type or value."""
    zone = cdn.zone("b")
    client = cdn.client("b")
    plain = cdn.create("b", shop_name())
    full = cdn.create(
        "b",
        shop_name(),
        ssl={
            "method": "http",
            "type": "dv",
            "settings": {"ciphers": ["AES128-SHA"]},
            "certificate_authority": "google",
        },
        custom_metadata={"k": "v"},
        custom_origin_server=f"origin.{zone['name']}",
        custom_origin_sni=":request_host_header:",
    )
    cdn.publish(plain, cdn.ip(200))
    cdn.validate("b", plain["id"])  # pending, with verification errors
    cdn.publish(full, cdn.ip(10))
    assert cdn.validate("b", full["id"])["status"] == "active"
    listed = assert_ok(client.get(f"/zones/{zone['id']}/custom_hostnames"))
    assert len(listed) == 2 and listed[0]["verification_errors"]
    for raw in listed:
        for model in (CustomHostnameGetResponse, CustomHostnameListResponse, CustomHostnameEditResponse):
            parsed = model.model_validate(raw)
            no_extras(parsed)
    r = client.delete(hostname_url(zone["id"], plain["id"]))
    CustomHostnameDeleteResponse.model_validate(r.json())
