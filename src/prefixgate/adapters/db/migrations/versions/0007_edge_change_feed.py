"""The edge change feed: the revision head, the outbox of changes, edge tokens and nodes, and the
revision that created each service binding.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table(
        "edge_head",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("oldest", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_head")),
    )
    # Revision 0 is the state as it stands now; the first change is revision 1, the oldest kept.
    op.bulk_insert(head, [{"id": 1, "revision": 0, "oldest": 1}])
    op.create_table(
        "edge_changes",
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("revision", "kind", "entity_id", name=op.f("pk_edge_changes")),
    )
    op.create_table(
        "edge_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edge_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_edge_tokens_token_hash")),
    )
    op.create_table(
        "edge_nodes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("registered_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_edge_nodes")),
    )
    op.add_column("service_bindings", sa.Column("revision", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_service_bindings_provisioning",
        "service_bindings",
        ["revision"],
        unique=False,
        sqlite_where=sa.text("state = 'provisioning'"),
        postgresql_where=sa.text("state = 'provisioning'"),
    )


def downgrade() -> None:
    op.drop_index("ix_service_bindings_provisioning", table_name="service_bindings")
    with op.batch_alter_table("service_bindings") as batch:
        batch.drop_column("revision")
    op.drop_table("edge_nodes")
    op.drop_table("edge_tokens")
    op.drop_table("edge_changes")
    op.drop_table("edge_head")
