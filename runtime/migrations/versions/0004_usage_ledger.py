"""usage ledger: one row per LLM call and per tool call (tokens, USD, latency, outcome)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_ledger",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("workflow", sa.String(128), nullable=False, server_default=""),
        sa.Column("node", sa.String(128), nullable=False, server_default=""),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("price_known", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("status", sa.String(8), nullable=False, server_default="ok"),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_ledger"),
        sa.CheckConstraint("kind IN ('llm', 'tool')", name="ck_usage_ledger_kind"),
        sa.CheckConstraint("status IN ('ok', 'error')", name="ck_usage_ledger_status"),
    )
    op.create_index("ix_usage_ledger_run_id", "usage_ledger", ["run_id"])
    op.create_index("ix_usage_ledger_tenant_created_at", "usage_ledger", ["tenant", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_ledger_tenant_created_at", table_name="usage_ledger")
    op.drop_index("ix_usage_ledger_run_id", table_name="usage_ledger")
    op.drop_table("usage_ledger")
