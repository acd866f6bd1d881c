"""tool_invocations.run_id holds an idempotency scope: thread id / turn id (up to 200 chars)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tool_invocations") as batch:
        batch.alter_column(
            "run_id", existing_type=sa.String(64), type_=sa.String(200), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tool_invocations") as batch:
        batch.alter_column(
            "run_id", existing_type=sa.String(200), type_=sa.String(64), existing_nullable=False
        )
