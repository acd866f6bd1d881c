"""indexes for the console: a tenant's runs newest first, its pending approvals, a thread's
ledger rows

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_tenant_created_at", "runs", ["tenant", "created_at"])
    op.create_index(
        "ix_approvals_tenant_status_created_at", "approvals", ["tenant", "status", "created_at"]
    )
    op.create_index("ix_usage_ledger_thread_id", "usage_ledger", ["thread_id"])


def downgrade() -> None:
    op.drop_index("ix_usage_ledger_thread_id", table_name="usage_ledger")
    op.drop_index("ix_approvals_tenant_status_created_at", table_name="approvals")
    op.drop_index("ix_runs_tenant_created_at", table_name="runs")
