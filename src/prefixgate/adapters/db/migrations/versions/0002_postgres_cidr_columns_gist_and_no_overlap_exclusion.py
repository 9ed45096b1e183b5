"""PostgreSQL: cidr columns with GiST indexes, and an exclusion constraint against overlapping prefixes.

The columns are generated from the canonical `cidr` text, so writers need not know about them.
SQLite has no such types; there the range-key B-tree indexes and BEGIN IMMEDIATE do the work.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE prefixes ADD COLUMN net cidr GENERATED ALWAYS AS (cidr::cidr) STORED")
    # No address may ever belong to two prefixes, even if two transactions race past the checks.
    op.execute("ALTER TABLE prefixes ADD CONSTRAINT ex_prefixes_no_overlap EXCLUDE USING gist (net inet_ops WITH &&)")
    op.execute("ALTER TABLE delegations ADD COLUMN net cidr GENERATED ALWAYS AS (cidr::cidr) STORED")
    op.execute("CREATE INDEX ix_delegations_net_gist ON delegations USING gist (net inet_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_delegations_net_gist")
    op.execute("ALTER TABLE delegations DROP COLUMN net")
    op.execute("ALTER TABLE prefixes DROP CONSTRAINT ex_prefixes_no_overlap")
    op.execute("ALTER TABLE prefixes DROP COLUMN net")
