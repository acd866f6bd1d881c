"""daily usage roll-up for the console's long views: sums per (tenant, day, kind, workflow,
node, name), a log-scale latency histogram per step and failed calls per error code; filled
from the existing ledger rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from waypost.runtime.usage_rollup import rebuild

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _key() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),  # UTC, YYYY-MM-DD
    ]


def upgrade() -> None:
    op.create_table(
        "usage_rollup",
        *_key(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("errors", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unpriced", sa.Integer, nullable=False, server_default="0"),
        sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("usd", sa.Float, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "tenant", "day", "kind", "workflow", "node", "name", name="pk_usage_rollup"
        ),
        sqlite_with_rowid=False,  # a tenant's days are one range of the primary key's b-tree
    )
    op.create_table(
        "usage_rollup_latency",
        *_key(),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("bin", sa.Integer, nullable=False),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint(
            "tenant", "day", "workflow", "node", "bin", name="pk_usage_rollup_latency"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_rollup_errors",
        *_key(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant", "day", "code", name="pk_usage_rollup_errors"),
        sqlite_with_rowid=False,
    )
    # all-tenant views filter by day alone; the histogram's index covers what they read
    op.create_index("ix_usage_rollup_day", "usage_rollup", ["day"])
    op.create_index(
        "ix_usage_rollup_latency_day_workflow_node_bin_calls",
        "usage_rollup_latency",
        ["day", "workflow", "node", "bin", "calls"],
    )
    op.create_index("ix_usage_rollup_errors_day", "usage_rollup_errors", ["day"])
    # the ledger rows of a long view's partial first day, for every tenant
    op.create_index("ix_usage_ledger_created_at", "usage_ledger", ["created_at"])
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_usage_ledger_created_at", table_name="usage_ledger")
    op.drop_index("ix_usage_rollup_errors_day", table_name="usage_rollup_errors")
    op.drop_index(
        "ix_usage_rollup_latency_day_workflow_node_bin_calls", table_name="usage_rollup_latency"
    )
    op.drop_index("ix_usage_rollup_day", table_name="usage_rollup")
    for table in ("usage_rollup_errors", "usage_rollup_latency", "usage_rollup"):
        op.drop_table(table)
