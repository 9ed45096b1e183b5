"""The schema, in SQLAlchemy Core. Alembic migrations create it; this module only describes it.

IP ranges are stored as (family, start_key, end_key): 16-byte big-endian keys that compare
like integers on both engines, so ordinary B-tree indexes answer containment questions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "POSTGRES_ONLY",
    "accounts",
    "address_map_ips",
    "address_map_memberships",
    "address_maps",
    "api_tokens",
    "audit_log",
    "custom_hostname_ips",
    "custom_hostnames",
    "delegations",
    "edge_changes",
    "edge_head",
    "edge_nodes",
    "edge_tokens",
    "fallback_origins",
    "login_failures",
    "memberships",
    "metadata",
    "prefixes",
    "service_bindings",
    "spectrum_app_ips",
    "spectrum_apps",
    "users",
    "web_sessions",
    "zones",
]


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite keeps them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Objects migrations add on PostgreSQL only (cidr columns, GiST index, exclusion constraints).
# They are not part of `metadata`; schema comparisons skip them by these names.
POSTGRES_ONLY = frozenset(
    {"net", "ex_prefixes_no_overlap", "ix_delegations_net_gist", "ex_spectrum_app_ips_no_overlap"}
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id(name: str = "id", *args: Any, **kw: Any) -> Column[str]:
    return Column(name, String(32), *args, **kw)


def _key(name: str) -> Column[bytes]:
    return Column(name, LargeBinary(16), nullable=False)


users = Table(
    "users",
    metadata,
    _id(primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("api_key_hash", String(64)),
    Column("is_operator", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False),
    Column("type", String(32), nullable=False, default="standard"),
    Column("created_at", UtcDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    _id(primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    _id("user_id", ForeignKey("users.id"), nullable=False),
    Column("role_ids", Text, nullable=False),  # space-separated stable role ids
    Column("status", String(16), nullable=False, default="accepted"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "user_id", name="uq_memberships_account_user"),
    Index("ix_memberships_user", "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(primary_key=True),
    _id("user_id", ForeignKey("users.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("issued_on", UtcDateTime, nullable=False),
    Column("modified_on", UtcDateTime, nullable=False),
    Column("last_used_on", UtcDateTime),
    Column("not_before", UtcDateTime),
    Column("expires_on", UtcDateTime),
    Index("ix_api_tokens_user", "user_id", "issued_on"),
)

prefixes = Table(
    "prefixes",
    metadata,
    _id(primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("start_key"),
    _key("end_key"),
    Column("cidr", String(64), nullable=False),
    Column("asn", BigInteger),
    Column("description", String(1000), nullable=False, default=""),
    Column("approved", String(1), nullable=False),
    Column("loa_document_id", String(32)),
    Column("delegate_loa_creation", Boolean, nullable=False, default=False),
    Column("on_demand_enabled", Boolean, nullable=False, default=False),
    Column("on_demand_locked", Boolean, nullable=False, default=False),
    Column("advertised", Boolean),
    Column("advertised_modified_at", UtcDateTime),
    Column("irr_validation_state", String(16), nullable=False),
    Column("rpki_validation_state", String(16), nullable=False),
    Column("ownership_validation_state", String(16), nullable=False),
    Column("ownership_validation_token", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    # Prefixes never overlap, so the one whose start is the greatest <= an address is the
    # only candidate to contain it: a single index probe.
    Index("ix_prefixes_family_start", "family", "start_key"),
    Index("ix_prefixes_account_family_start", "account_id", "family", "start_key"),
)

delegations = Table(
    "delegations",
    metadata,
    _id(primary_key=True),
    _id("prefix_id", ForeignKey("prefixes.id"), nullable=False),
    _id("owner_account_id", ForeignKey("accounts.id"), nullable=False),
    _id("delegated_account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("start_key"),
    _key("end_key"),
    Column("cidr", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    # The duplicate rule, enforced by the database too: a race cannot slip past it.
    UniqueConstraint("prefix_id", "cidr", "delegated_account_id", name="uq_delegations_prefix_cidr_account"),
    Index("ix_delegations_prefix_start", "prefix_id", "start_key", "end_key", "id"),
    Index("ix_delegations_prefix_account_start", "prefix_id", "delegated_account_id", "start_key"),
    Index("ix_delegations_delegated_created", "delegated_account_id", "created_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # The order events were written in; replaying a log follows it.
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    _id(nullable=False, unique=True),
    Column("owner_kind", String(8), nullable=False),
    _id("owner_id", nullable=False),
    Column("when", UtcDateTime, nullable=False),
    _id("actor_id"),
    Column("actor_email", String(254)),
    Column("actor_type", String(16), nullable=False),
    Column("actor_ip", String(64)),
    Column("interface", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(36), nullable=False),  # 32 hex, or a custom hostname's UUID
    Column("old_value", Text),
    Column("new_value", Text),
    Column("metadata", Text, nullable=False),
    Index("ix_audit_log_owner_seq", "owner_kind", "owner_id", "seq"),
)

zones = Table(
    "zones",
    metadata,
    _id(primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("name", String(253), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("type", String(16), nullable=False),
    Column("created_on", UtcDateTime, nullable=False),
    Column("modified_on", UtcDateTime, nullable=False),
    Column("activated_on", UtcDateTime),
    Index("ix_zones_account_name", "account_id", "name"),
)

service_bindings = Table(
    "service_bindings",
    metadata,
    _id(primary_key=True),
    _id("prefix_id", ForeignKey("prefixes.id"), nullable=False),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("start_key"),
    _key("end_key"),
    Column("cidr", String(64), nullable=False),
    _id("service_id", nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The edge-feed revision that created it (stamped at commit); NULL for bindings older than the feed.
    Column("revision", BigInteger),
    UniqueConstraint("prefix_id", "cidr", name="uq_service_bindings_prefix_cidr"),
    Index("ix_service_bindings_prefix_start", "prefix_id", "start_key"),
    # Settling (provisioning -> active) looks only at the few bindings still provisioning.
    Index(
        "ix_service_bindings_provisioning",
        "revision",
        sqlite_where=text("state = 'provisioning'"),
        postgresql_where=text("state = 'provisioning'"),
    ),
)

spectrum_apps = Table(
    "spectrum_apps",
    metadata,
    _id(primary_key=True),
    _id("zone_id", ForeignKey("zones.id"), nullable=False),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("dns_type", String(8), nullable=False),
    Column("dns_name", String(253), nullable=False),
    Column("protocol", String(32), nullable=False),
    Column("traffic_type", String(8), nullable=False),
    Column("edge_ips_type", String(8), nullable=False),
    Column("edge_connectivity", String(8)),
    Column("origin_direct", Text),  # JSON list of URIs
    Column("origin_dns_name", String(253)),
    Column("origin_dns_type", String(8)),
    Column("origin_dns_ttl", Integer),
    Column("origin_port", String(16)),
    Column("proxy_protocol", String(8), nullable=False),
    Column("ip_firewall", Boolean, nullable=False),
    Column("tls", String(8)),
    Column("argo_smart_routing", Boolean, nullable=False),
    Column("status", String(8), nullable=False),
    Column("blocked_reason", Text),
    Column("created_on", UtcDateTime, nullable=False),
    Column("modified_on", UtcDateTime, nullable=False),
    Index("ix_spectrum_apps_zone_created", "zone_id", "created_on", "id"),
)

# One row per (app, static edge IP): the claims on (address, transport, ports).
# `active` is false while the app is blocked: a blocked app keeps its row (so the edge can say
# why it does not serve it) but no longer holds the address and ports against other apps.
spectrum_app_ips = Table(
    "spectrum_app_ips",
    metadata,
    _id("app_id", ForeignKey("spectrum_apps.id", ondelete="CASCADE"), primary_key=True),
    Column("ip", String(64), primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("ip_key"),
    Column("transport", String(3), nullable=False),
    Column("port_start", Integer, nullable=False),
    Column("port_end", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Index("ix_spectrum_app_ips_lookup", "family", "ip_key", "transport", "port_start"),
    Index("ix_spectrum_app_ips_account", "account_id", "family", "ip_key"),
)

# SSL for SaaS: a zone's fallback origin (one per zone) and its custom hostnames.
fallback_origins = Table(
    "fallback_origins",
    metadata,
    _id("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True),
    Column("origin", String(253), nullable=False),
    Column("status", String(24), nullable=False),
    Column("errors", Text, nullable=False),  # JSON list of messages
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

custom_hostnames = Table(
    "custom_hostnames",
    metadata,
    Column("id", String(36), primary_key=True),  # a UUID, as Cloudflare's are
    _id("zone_id", ForeignKey("zones.id", ondelete="CASCADE"), nullable=False),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("hostname", String(253), nullable=False),
    Column("status", String(24), nullable=False),
    Column("ssl_id", String(36), nullable=False),
    Column("ssl", Text, nullable=False),  # JSON: the requested method, type, settings...
    Column("ownership_token", String(36), nullable=False),
    Column("custom_origin_server", String(253)),
    Column("custom_origin_sni", String(253)),
    Column("custom_metadata", Text),  # JSON object
    Column("verification_errors", Text, nullable=False),  # JSON list of messages
    Column("route", String(8)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("verified_at", UtcDateTime),
    Column("checked_at", UtcDateTime),
    # When background re-validation next looks at it; a process claims a hostname by moving this
    # forward one interval in the same transaction, so no other process checks it in that interval.
    Column("next_check_at", UtcDateTime, nullable=False),
    UniqueConstraint("zone_id", "hostname", name="uq_custom_hostnames_zone_hostname"),
    Index("ix_custom_hostnames_zone_created", "zone_id", "created_at", "id"),
    Index("ix_custom_hostnames_hostname", "hostname"),
    Index("ix_custom_hostnames_next_check", "next_check_at"),
    # A hostname is active in one zone at most, whichever account and however the validations race.
    Index(
        "uq_custom_hostnames_active_hostname",
        "hostname",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

# The addresses an active hostname was validated on through the BYOIP (apex) path.
custom_hostname_ips = Table(
    "custom_hostname_ips",
    metadata,
    Column("hostname_id", String(36), ForeignKey("custom_hostnames.id", ondelete="CASCADE"), primary_key=True),
    Column("ip", String(64), primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("ip_key"),
    Index("ix_custom_hostname_ips_account", "account_id", "family", "ip_key"),
    Index("ix_custom_hostname_ips_key", "family", "ip_key"),
)

# Address maps: an account's maps, the addresses on them and their members (the account, its zones).
address_maps = Table(
    "address_maps",
    metadata,
    _id(primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("description", String(1000)),
    Column("default_sni", String(253)),
    Column("enabled", Boolean, nullable=False),
    Column("can_delete", Boolean, nullable=False),
    Column("can_modify_ips", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Index("ix_address_maps_account_created", "account_id", "created_at", "id"),
)

# One row per (map, address). `account_id` is the map's, so "which of this account's map IPs lie in
# that range" (revocation) is one range probe on (account_id, family, ip_key).
address_map_ips = Table(
    "address_map_ips",
    metadata,
    _id("map_id", ForeignKey("address_maps.id", ondelete="CASCADE"), primary_key=True),
    Column("ip", String(64), primary_key=True),
    _id("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("family", SmallInteger, nullable=False),
    _key("ip_key"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_address_map_ips_account", "account_id", "family", "ip_key"),
    Index("ix_address_map_ips_key", "family", "ip_key"),
)

# `zone_id` repeats `identifier` for zone members: the foreign key removes them with their zone, and
# refuses a membership for a zone that is being deleted concurrently.
address_map_memberships = Table(
    "address_map_memberships",
    metadata,
    _id("map_id", ForeignKey("address_maps.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    _id("identifier", primary_key=True),
    _id("zone_id", ForeignKey("zones.id", ondelete="CASCADE")),
    Column("can_delete", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_address_map_memberships_zone", "zone_id"),
)


# Dashboard sessions: the digest of the cookie's random value is the key; the value itself is never stored.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    _id("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_web_sessions_user", "user_id"),
    Index("ix_web_sessions_expires", "expires_at"),
)

# Failed dashboard logins, per key ("email:<address>" or "ip:<address>"), shared by every worker.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(320), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
)


# The edge change feed (docs/edge.md). One row: the newest committed revision, and the oldest revision
# whose changes are still kept. Every unit of work that changes serving state takes the next revision
# from it as its last statement, so revisions commit in the order they are numbered.
edge_head = Table(
    "edge_head",
    metadata,
    Column("id", SmallInteger, primary_key=True),  # always 1
    Column("revision", BigInteger, nullable=False),
    Column("oldest", BigInteger, nullable=False),
)

# The outbox: which entities (kind as prefixgate.edge.state names it, and id) each revision changed.
edge_changes = Table(
    "edge_changes",
    metadata,
    Column("revision", BigInteger, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("entity_id", String(36), primary_key=True),  # 32 hex, or a custom hostname's UUID
)

# Credentials of edges: they may read the feed and report what they serve, nothing else.
edge_tokens = Table(
    "edge_tokens",
    metadata,
    _id(primary_key=True),
    Column("name", String(120), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# The edges that reported the revision they serve (PUT /edge/nodes/{name}).
edge_nodes = Table(
    "edge_nodes",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("registered_on", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
)
