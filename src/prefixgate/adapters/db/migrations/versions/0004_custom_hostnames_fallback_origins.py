"""SSL for SaaS: fallback origins, custom hostnames and the addresses active hostnames use;
audit events' resource ids widen to 36 characters for hostnames' UUIDs.

A partial unique index keeps a hostname active in one zone at most, on both engines.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:58:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Audit events name custom hostnames by their UUIDs (36 characters).
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("resource_id", existing_type=sa.String(length=32), type_=sa.String(length=36))
    op.create_table(
        "fallback_origins",
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=253), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_fallback_origins_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("zone_id", name=op.f("pk_fallback_origins")),
    )
    op.create_table(
        "custom_hostnames",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("ssl_id", sa.String(length=36), nullable=False),
        sa.Column("ssl", sa.Text(), nullable=False),
        sa.Column("ownership_token", sa.String(length=36), nullable=False),
        sa.Column("custom_origin_server", sa.String(length=253), nullable=True),
        sa.Column("custom_origin_sni", sa.String(length=253), nullable=True),
        sa.Column("custom_metadata", sa.Text(), nullable=True),
        sa.Column("verification_errors", sa.Text(), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_custom_hostnames_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_custom_hostnames_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_hostnames")),
        sa.UniqueConstraint("zone_id", "hostname", name="uq_custom_hostnames_zone_hostname"),
    )
    op.create_index("ix_custom_hostnames_zone_created", "custom_hostnames", ["zone_id", "created_at", "id"])
    op.create_index("ix_custom_hostnames_hostname", "custom_hostnames", ["hostname"])
    op.create_index("ix_custom_hostnames_next_check", "custom_hostnames", ["next_check_at"])
    op.create_index(
        "uq_custom_hostnames_active_hostname",
        "custom_hostnames",
        ["hostname"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "custom_hostname_ips",
        sa.Column("hostname_id", sa.String(length=36), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("ip_key", sa.LargeBinary(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_custom_hostname_ips_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["hostname_id"],
            ["custom_hostnames.id"],
            name=op.f("fk_custom_hostname_ips_hostname_id_custom_hostnames"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hostname_id", "ip", name=op.f("pk_custom_hostname_ips")),
    )
    op.create_index("ix_custom_hostname_ips_account", "custom_hostname_ips", ["account_id", "family", "ip_key"])
    op.create_index("ix_custom_hostname_ips_key", "custom_hostname_ips", ["family", "ip_key"])


def downgrade() -> None:
    op.drop_table("custom_hostname_ips")
    op.drop_table("custom_hostnames")
    op.drop_table("fallback_origins")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("resource_id", existing_type=sa.String(length=36), type_=sa.String(length=32))
