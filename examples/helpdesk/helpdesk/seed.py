"""Demo data: three employees, their devices and a few open tickets (``waypost helpdesk seed``)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.store import DEFAULT_TENANT, Action, Device, Employee, Ticket

__all__ = ["counts", "seed"]

EMPLOYEES = [
    ("E-1001", "Ada Lovelace", "ada@example.com", "Engineering", "active"),
    ("E-1002", "Grace Hopper", "grace@example.com", "Operations", "locked"),
    ("E-1003", "Alan Turing", "alan@example.com", "Research", "active"),
]
DEVICES = [
    ("LT-1001", "E-1001", "laptop", "ThinkPad X1 Carbon"),
    ("PH-1002", "E-1001", "phone", "Pixel 8"),
    ("LT-2001", "E-1002", "laptop", "MacBook Air"),
    ("LT-3001", "E-1003", "laptop", "Dell XPS 13"),
    ("TB-3002", "E-1003", "tablet", "iPad Air"),
]
TICKETS = [
    ("T-501", "E-1001", "Laptop stolen from my car"),
    ("T-502", "E-1002", "Locked out after the password expired"),
    ("T-503", "E-1003", "VPN drops every hour"),
]
TABLES = (Employee, Device, Ticket, Action)


def counts(session: Session, tenant: str = DEFAULT_TENANT) -> dict[str, int]:
    """Rows per table for ``tenant``."""
    return {
        str(t.__tablename__): session.scalar(
            select(func.count()).select_from(t).where(t.tenant == tenant)
        )
        or 0
        for t in TABLES
    }


def seed(
    session_factory: sessionmaker[Session], tenant: str = DEFAULT_TENANT, force: bool = False
) -> dict[str, int] | None:
    """Load the demo data for ``tenant``; None when it has data already (unless ``force``)."""
    with session_factory() as session, session.begin():
        if any(counts(session, tenant).values()):
            if not force:
                return None
            for table in TABLES:
                session.execute(delete(table).where(table.tenant == tenant))
        for employee_id, name, email, department, status in EMPLOYEES:
            session.add(
                Employee(
                    tenant=tenant,
                    employee_id=employee_id,
                    name=name,
                    email=email,
                    department=department,
                    account_status=status,
                )
            )
        for device_id, employee_id, kind, model in DEVICES:
            session.add(
                Device(
                    tenant=tenant,
                    device_id=device_id,
                    employee_id=employee_id,
                    kind=kind,
                    model=model,
                    status="active",
                )
            )
        for ticket_id, employee_id, subject in TICKETS:
            session.add(
                Ticket(
                    tenant=tenant,
                    ticket_id=ticket_id,
                    employee_id=employee_id,
                    subject=subject,
                    status="open",
                )
            )
    with session_factory() as session:
        return counts(session, tenant)
