"""tenants, API keys (hash + lookup prefix), approval audit events, quota reservations;
eval scorecards get their tenant

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, server_default=""),
        sa.Column("tokens_per_day", sa.BigInteger, nullable=True),
        sa.Column("tokens_per_month", sa.BigInteger, nullable=True),
        sa.Column("usd_per_day", sa.Float, nullable=True),
        sa.Column("usd_per_month", sa.Float, nullable=True),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("runs_per_minute", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO tenants (tenant, name, created_at) VALUES ('default', 'default', CURRENT_TIMESTAMP)"
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant", sa.String(64), sa.ForeignKey("tenants.tenant", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_tenant", "api_keys", ["tenant"])
    op.create_table(
        "approval_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("approval_id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("arguments_before", sa.JSON, nullable=True),
        sa.Column("arguments_after", sa.JSON, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approval_events_approval_id", "approval_events", ["approval_id"])
    op.create_table(
        "quota_reservations",
        sa.Column("reservation_id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("usd", sa.Float, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_quota_reservations_tenant", "quota_reservations", ["tenant"])
    with op.batch_alter_table("eval_scorecards") as batch:
        batch.add_column(
            sa.Column("tenant", sa.String(64), nullable=False, server_default="default")
        )


def downgrade() -> None:
    with op.batch_alter_table("eval_scorecards") as batch:
        batch.drop_column("tenant")
    op.drop_table("quota_reservations")
    op.drop_table("approval_events")
    op.drop_table("api_keys")
    op.drop_table("tenants")
