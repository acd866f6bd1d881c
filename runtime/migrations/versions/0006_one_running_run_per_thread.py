"""one running run per thread, enforced by the database (partial unique index)

The queue never starts a second run of a thread while one runs; with this index a claim that
races another process for the same thread fails with a unique violation instead of relying on a
lock taken around it, so a claim is one statement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_index(
        "uq_runs_one_running_per_thread",
        "runs",
        ["thread_id"],
        unique=True,
        postgresql_where=_RUNNING,
        sqlite_where=_RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_runs_one_running_per_thread", table_name="runs")
