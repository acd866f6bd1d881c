"""helpdesk tables, the root of the ``helpdesk`` branch

Revision ID: helpdesk_0001
Revises: (root of the helpdesk branch)
"""
import sqlalchemy as sa
from alembic import op

revision = "helpdesk_0001"
down_revision = None
branch_labels = ("helpdesk",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_employees",
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("employee_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("account_status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "employee_id", name="pk_helpdesk_employees"),
    )
    op.create_index("ix_helpdesk_employees_email", "helpdesk_employees", ["email"])
    op.create_table(
        "helpdesk_devices",
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("employee_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("wiped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "device_id", name="pk_helpdesk_devices"),
    )
    op.create_index("ix_helpdesk_devices_employee_id", "helpdesk_devices", ["employee_id"])
    op.create_table(
        "helpdesk_tickets",
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("employee_id", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("team", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "ticket_id", name="pk_helpdesk_tickets"),
    )
    op.create_index("ix_helpdesk_tickets_employee_id", "helpdesk_tickets", ["employee_id"])
    op.create_table(
        "helpdesk_actions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False, server_default="default"),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_helpdesk_actions"),
    )
    op.create_index("ix_helpdesk_actions_tenant", "helpdesk_actions", ["tenant"])


def downgrade() -> None:
    for table in ("helpdesk_actions", "helpdesk_tickets", "helpdesk_devices", "helpdesk_employees"):
        op.drop_table(table)
