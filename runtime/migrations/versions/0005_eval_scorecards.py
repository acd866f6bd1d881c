"""eval scorecards: one row per eval run (pass rate, CI, metrics, failures, per-case summary)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_scorecards",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("approvals", sa.String(16), nullable=False),
        sa.Column("n_cases", sa.Integer, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("pass_rate", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float, nullable=False),
        sa.Column("ci_high", sa.Float, nullable=False),
        sa.Column("wall_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("cases", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_scorecards"),
    )
    op.create_index("ix_eval_scorecards_workflow_created_at", "eval_scorecards",
                    ["workflow", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_eval_scorecards_workflow_created_at", table_name="eval_scorecards")
    op.drop_table("eval_scorecards")
