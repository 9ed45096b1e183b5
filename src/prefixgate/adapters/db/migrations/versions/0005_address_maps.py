"""Address maps, the addresses on them and their account and zone members.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_maps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("default_sni", sa.String(length=253), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("can_delete", sa.Boolean(), nullable=False),
        sa.Column("can_modify_ips", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_address_maps_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_maps")),
    )
    op.create_index("ix_address_maps_account_created", "address_maps", ["account_id", "created_at", "id"])
    op.create_table(
        "address_map_ips",
        sa.Column("map_id", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("ip_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_address_map_ips_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["map_id"], ["address_maps.id"], name=op.f("fk_address_map_ips_map_id_address_maps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("map_id", "ip", name=op.f("pk_address_map_ips")),
    )
    op.create_index("ix_address_map_ips_account", "address_map_ips", ["account_id", "family", "ip_key"])
    op.create_index("ix_address_map_ips_key", "address_map_ips", ["family", "ip_key"])
    op.create_table(
        "address_map_memberships",
        sa.Column("map_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=True),
        sa.Column("can_delete", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["map_id"],
            ["address_maps.id"],
            name=op.f("fk_address_map_memberships_map_id_address_maps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_address_map_memberships_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("map_id", "kind", "identifier", name=op.f("pk_address_map_memberships")),
    )
    op.create_index("ix_address_map_memberships_zone", "address_map_memberships", ["zone_id"])


def downgrade() -> None:
    op.drop_table("address_map_memberships")
    op.drop_table("address_map_ips")
    op.drop_table("address_maps")
