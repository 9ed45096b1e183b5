"""Core schema: users, accounts, memberships, API tokens, prefixes, delegations and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 11:46:52.455148
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_kind", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("when", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_ip", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
    )
    op.create_index("ix_audit_log_owner_seq", "audit_log", ["owner_kind", "owner_id", "seq"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("api_key_hash", sa.String(length=64), nullable=True),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issued_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_on", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id", "issued_on"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role_ids", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_memberships_account_id_accounts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("account_id", "user_id", name="uq_memberships_account_user"),
    )
    op.create_index("ix_memberships_user", "memberships", ["user_id"], unique=False)

    op.create_table(
        "prefixes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("start_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("end_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("asn", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("approved", sa.String(length=1), nullable=False),
        sa.Column("loa_document_id", sa.String(length=32), nullable=True),
        sa.Column("delegate_loa_creation", sa.Boolean(), nullable=False),
        sa.Column("on_demand_enabled", sa.Boolean(), nullable=False),
        sa.Column("on_demand_locked", sa.Boolean(), nullable=False),
        sa.Column("advertised", sa.Boolean(), nullable=True),
        sa.Column("advertised_modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("irr_validation_state", sa.String(length=16), nullable=False),
        sa.Column("rpki_validation_state", sa.String(length=16), nullable=False),
        sa.Column("ownership_validation_state", sa.String(length=16), nullable=False),
        sa.Column("ownership_validation_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_prefixes_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prefixes")),
    )
    op.create_index("ix_prefixes_account_family_start", "prefixes", ["account_id", "family", "start_key"], unique=False)
    op.create_index("ix_prefixes_family_start", "prefixes", ["family", "start_key"], unique=False)

    op.create_table(
        "delegations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("prefix_id", sa.String(length=32), nullable=False),
        sa.Column("owner_account_id", sa.String(length=32), nullable=False),
        sa.Column("delegated_account_id", sa.String(length=32), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("start_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("end_key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegated_account_id"], ["accounts.id"], name=op.f("fk_delegations_delegated_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["owner_account_id"], ["accounts.id"], name=op.f("fk_delegations_owner_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["prefix_id"], ["prefixes.id"], name=op.f("fk_delegations_prefix_id_prefixes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
        sa.UniqueConstraint("prefix_id", "cidr", "delegated_account_id", name="uq_delegations_prefix_cidr_account"),
    )
    op.create_index(
        "ix_delegations_delegated_created", "delegations", ["delegated_account_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_delegations_prefix_account_start",
        "delegations",
        ["prefix_id", "delegated_account_id", "start_key"],
        unique=False,
    )
    op.create_index(
        "ix_delegations_prefix_start", "delegations", ["prefix_id", "start_key", "end_key", "id"], unique=False
    )


def downgrade() -> None:

    op.drop_table("delegations")

    op.drop_table("prefixes")

    op.drop_table("memberships")

    op.drop_table("api_tokens")
    op.drop_table("users")

    op.drop_table("audit_log")
    op.drop_table("accounts")
