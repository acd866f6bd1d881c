"""assistants with versions, crons, and the assistant version a run or a scorecard used

- ``assistants``: one row per assistant, holding its current (latest) version's values;
  ``assistant_versions``: every version ever written (an update appends one, a rollback points
  the assistant back at one). System assistants (one per registered graph) have tenant ``*``.
- ``crons``: durable schedules; ``next_run_date`` is advanced in the transaction that inserts
  the run it fires, so two processes cannot both fire one due schedule.
- ``runs.assistant_version`` and ``eval_scorecards.assistant_id``/``assistant_version``: what
  configuration a run or an eval ran with.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant", sa.String(64), nullable=False, server_default="default")


def upgrade() -> None:
    op.create_table(
        "assistants",
        sa.Column("assistant_id", sa.String(64), nullable=False),
        _tenant(),
        sa.Column("graph_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("assistant_id", name="pk_assistants"),
    )
    op.create_index("ix_assistants_tenant", "assistants", ["tenant"])
    op.create_index("ix_assistants_graph_id", "assistants", ["graph_id"])
    op.create_table(
        "assistant_versions",
        sa.Column("assistant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _tenant(),
        sa.Column("graph_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("assistant_id", "version", name="pk_assistant_versions"),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["assistants.assistant_id"],
            name="fk_assistant_versions_assistant_id_assistants",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_assistant_versions_tenant", "assistant_versions", ["tenant"])
    op.create_table(
        "crons",
        sa.Column("cron_id", sa.String(64), nullable=False),
        _tenant(),
        sa.Column("assistant_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("schedule", sa.String(128), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("end_time", _TS, nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("on_run_completed", sa.String(16), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("next_run_date", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("cron_id", name="pk_crons"),
    )
    op.create_index("ix_crons_tenant", "crons", ["tenant"])
    op.create_index("ix_crons_enabled_next_run_date", "crons", ["enabled", "next_run_date"])
    op.add_column("runs", sa.Column("assistant_version", sa.Integer, nullable=True))
    op.add_column("eval_scorecards", sa.Column("assistant_id", sa.String(64), nullable=True))
    op.add_column("eval_scorecards", sa.Column("assistant_version", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_scorecards") as batch:
        batch.drop_column("assistant_version")
        batch.drop_column("assistant_id")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("assistant_version")
    op.drop_index("ix_crons_enabled_next_run_date", table_name="crons")
    op.drop_index("ix_crons_tenant", table_name="crons")
    op.drop_table("crons")
    op.drop_index("ix_assistant_versions_tenant", table_name="assistant_versions")
    op.drop_table("assistant_versions")
    op.drop_index("ix_assistants_graph_id", table_name="assistants")
    op.drop_index("ix_assistants_tenant", table_name="assistants")
    op.drop_table("assistants")
