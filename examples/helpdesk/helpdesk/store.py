"""The helpdesk's tables: employees, their devices, tickets, and an audit log of every action.

Migration ``helpdesk_0001`` creates them (the root of this domain's own Alembic branch). Every
table has a ``tenant`` column and every query filters by it: one database serves many tenants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["DEFAULT_TENANT", "Action", "Base", "Device", "Employee", "Ticket", "utcnow"]

DEFAULT_TENANT = "default"


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {"pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Employee(Base):
    __tablename__ = "helpdesk_employees"

    # (tenant, id) keys lead with the tenant, so the primary key indexes it
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    employee_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(256), index=True)
    department: Mapped[str] = mapped_column(String(64))
    account_status: Mapped[str] = mapped_column(String(16))  # active | locked


class Device(Base):
    __tablename__ = "helpdesk_devices"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # laptop | phone | tablet
    model: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # active | wiped
    wiped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Ticket(Base):
    __tablename__ = "helpdesk_tickets"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True, default=DEFAULT_TENANT)
    ticket_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))  # open | escalated | resolved
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Action(Base):
    """One row per change a tool made: what the audit trail (and the tests) read."""

    __tablename__ = "helpdesk_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True, default=DEFAULT_TENANT)
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
