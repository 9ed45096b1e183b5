"""Zones, service bindings and Spectrum apps with their edge-IP claims.

On PostgreSQL an exclusion constraint (btree_gist) also guarantees that no two active apps claim
the same address, transport and overlapping ports, even if two transactions race.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 11:57:04.343014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_on", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_zones_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("name", name=op.f("uq_zones_name")),
    )
    op.create_index("ix_zones_account_name", "zones", ["account_id", "name"], unique=False)

    op.create_table(
        "service_bindings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("prefix_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("start_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("end_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_service_bindings_account_id_accounts")),
        sa.ForeignKeyConstraint(["prefix_id"], ["prefixes.id"], name=op.f("fk_service_bindings_prefix_id_prefixes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_bindings")),
        sa.UniqueConstraint("prefix_id", "cidr", name="uq_service_bindings_prefix_cidr"),
    )
    op.create_index("ix_service_bindings_prefix_start", "service_bindings", ["prefix_id", "start_key"], unique=False)

    op.create_table(
        "spectrum_apps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("dns_type", sa.String(length=8), nullable=False),
        sa.Column("dns_name", sa.String(length=253), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("traffic_type", sa.String(length=8), nullable=False),
        sa.Column("edge_ips_type", sa.String(length=8), nullable=False),
        sa.Column("edge_connectivity", sa.String(length=8), nullable=True),
        sa.Column("origin_direct", sa.Text(), nullable=True),
        sa.Column("origin_dns_name", sa.String(length=253), nullable=True),
        sa.Column("origin_dns_type", sa.String(length=8), nullable=True),
        sa.Column("origin_dns_ttl", sa.Integer(), nullable=True),
        sa.Column("origin_port", sa.String(length=16), nullable=True),
        sa.Column("proxy_protocol", sa.String(length=8), nullable=False),
        sa.Column("ip_firewall", sa.Boolean(), nullable=False),
        sa.Column("tls", sa.String(length=8), nullable=True),
        sa.Column("argo_smart_routing", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_spectrum_apps_account_id_accounts")),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_spectrum_apps_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spectrum_apps")),
    )
    op.create_index("ix_spectrum_apps_zone_created", "spectrum_apps", ["zone_id", "created_on", "id"], unique=False)

    op.create_table(
        "spectrum_app_ips",
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("ip_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("transport", sa.String(length=3), nullable=False),
        sa.Column("port_start", sa.Integer(), nullable=False),
        sa.Column("port_end", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_spectrum_app_ips_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["app_id"], ["spectrum_apps.id"], name=op.f("fk_spectrum_app_ips_app_id_spectrum_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "ip", name=op.f("pk_spectrum_app_ips")),
    )
    op.create_index("ix_spectrum_app_ips_account", "spectrum_app_ips", ["account_id", "family", "ip_key"], unique=False)
    op.create_index(
        "ix_spectrum_app_ips_lookup", "spectrum_app_ips", ["family", "ip_key", "transport", "port_start"], unique=False
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE spectrum_app_ips ADD CONSTRAINT ex_spectrum_app_ips_no_overlap EXCLUDE USING gist "
            "(family WITH =, ip_key WITH =, transport WITH =, int4range(port_start, port_end, '[]') WITH &&) "
            "WHERE (active)"
        )


def downgrade() -> None:
    op.drop_table("spectrum_app_ips")
    op.drop_table("spectrum_apps")
    op.drop_table("service_bindings")
    op.drop_table("zones")
