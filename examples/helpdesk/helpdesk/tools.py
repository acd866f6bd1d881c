"""The helpdesk's typed tools: pydantic arguments and results, and a risk level each.

- ``read`` tools (``find_employee``, ``list_devices``, ``get_ticket``) run at once;
- ``write`` tools (``reset_password``, ``escalate_ticket``) change the database, idempotently;
- ``irreversible`` tools (``wipe_device``) always wait for a person's approval first.

A tool raises a ``waypost.runtime.errors`` tool error for what the model should hear about
(unknown email, device already wiped); the registry returns it as an error outcome and the
transaction of a failed write rolls back. Every query filters by the calling run's tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from waypost.runtime.errors import InvalidState, ToolNotFound
from waypost.tools import RiskLevel, ToolArgs, ToolContext, ToolRegistry, tool

from helpdesk.store import DEFAULT_TENANT, Action, Device, Employee, Ticket, utcnow

__all__ = ["HELPDESK_TOOLS", "build_registry"]


def _tenant(ctx: ToolContext) -> str:
    return ctx.tenant or DEFAULT_TENANT


def _audit(ctx: ToolContext, action: str, target: str, **detail: str) -> None:
    ctx.db.add(Action(tenant=_tenant(ctx), action=action, target=target, detail=detail))


# -- results -------------------------------------------------------------------------------


class EmployeeRecord(BaseModel):
    employee_id: str
    name: str
    email: str
    department: str
    account_status: str


class DeviceRecord(BaseModel):
    device_id: str
    employee_id: str
    kind: str
    model: str
    status: str
    wiped_at: datetime | None = None


class TicketRecord(BaseModel):
    ticket_id: str
    employee_id: str
    subject: str
    status: str
    team: str | None = None


class PasswordReset(BaseModel):
    employee_id: str
    account_status: str
    reset_link_sent_to: str


# -- arguments -----------------------------------------------------------------------------


class FindEmployeeArgs(ToolArgs):
    email: str = Field(description="The employee's work email address.", max_length=256)


class ListDevicesArgs(ToolArgs):
    email: str = Field(
        description="The work email of the employee whose devices to list.", max_length=256
    )


class GetTicketArgs(ToolArgs):
    ticket_id: str = Field(description="A ticket id such as T-501.", pattern=r"^T-[0-9]+$")


class ResetPasswordArgs(ToolArgs):
    employee_id: str = Field(description="The employee id, e.g. E-1001.", pattern=r"^E-[0-9]+$")


class EscalateTicketArgs(ToolArgs):
    ticket_id: str = Field(description="A ticket id such as T-501.", pattern=r"^T-[0-9]+$")
    team: Literal["network", "hardware", "security"] = Field(description="Who takes it over.")
    note: str = Field(description="What the team needs to know.", min_length=1, max_length=2000)


class WipeDeviceArgs(ToolArgs):
    device_id: str = Field(description="The device id, e.g. LT-1001.", max_length=32)
    reason: Literal["lost", "stolen", "offboarding"]


# -- read tools ----------------------------------------------------------------------------


def _employee_by_email(ctx: ToolContext, email: str) -> Employee:
    employee = ctx.db.scalars(
        select(Employee).where(
            Employee.tenant == _tenant(ctx), Employee.email == email.strip().lower()
        )
    ).first()
    if employee is None:
        raise ToolNotFound(f"no employee has the email {email!r}")
    return employee


def _employee_record(e: Employee) -> EmployeeRecord:
    return EmployeeRecord(
        employee_id=e.employee_id,
        name=e.name,
        email=e.email,
        department=e.department,
        account_status=e.account_status,
    )


def _device_record(d: Device) -> DeviceRecord:
    return DeviceRecord(
        device_id=d.device_id,
        employee_id=d.employee_id,
        kind=d.kind,
        model=d.model,
        status=d.status,
        wiped_at=d.wiped_at,
    )


def _ticket_record(t: Ticket) -> TicketRecord:
    return TicketRecord(
        ticket_id=t.ticket_id,
        employee_id=t.employee_id,
        subject=t.subject,
        status=t.status,
        team=t.team,
    )


@tool(risk=RiskLevel.READ, result=EmployeeRecord, description="Find an employee by work email.")
def find_employee(ctx: ToolContext, args: FindEmployeeArgs) -> EmployeeRecord:
    return _employee_record(_employee_by_email(ctx, args.email))


@tool(
    risk=RiskLevel.READ,
    result=list[DeviceRecord],
    description="List the devices assigned to an employee, by the employee's work email.",
)
def list_devices(ctx: ToolContext, args: ListDevicesArgs) -> list[DeviceRecord]:
    employee = _employee_by_email(ctx, args.email)
    devices = ctx.db.scalars(
        select(Device)
        .where(Device.tenant == employee.tenant, Device.employee_id == employee.employee_id)
        .order_by(Device.device_id)
    )
    return [_device_record(d) for d in devices]


@tool(risk=RiskLevel.READ, result=TicketRecord, description="Get a support ticket by id.")
def get_ticket(ctx: ToolContext, args: GetTicketArgs) -> TicketRecord:
    ticket = ctx.db.get(Ticket, (_tenant(ctx), args.ticket_id))
    if ticket is None:
        raise ToolNotFound(f"ticket {args.ticket_id} not found")
    return _ticket_record(ticket)


# -- write tools ---------------------------------------------------------------------------


@tool(
    risk=RiskLevel.WRITE,
    result=PasswordReset,
    description="Unlock an employee's account and email them a password reset link.",
)
def reset_password(ctx: ToolContext, args: ResetPasswordArgs) -> PasswordReset:
    employee = ctx.db.get(Employee, (_tenant(ctx), args.employee_id))
    if employee is None:
        raise ToolNotFound(f"employee {args.employee_id} not found")
    employee.account_status = "active"
    _audit(ctx, "reset_password", employee.employee_id, email=employee.email)
    return PasswordReset(
        employee_id=employee.employee_id,
        account_status=employee.account_status,
        reset_link_sent_to=employee.email,
    )


@tool(
    risk=RiskLevel.WRITE,
    result=TicketRecord,
    description="Hand a ticket over to a specialist team, with a note for them.",
)
def escalate_ticket(ctx: ToolContext, args: EscalateTicketArgs) -> TicketRecord:
    ticket = ctx.db.get(Ticket, (_tenant(ctx), args.ticket_id))
    if ticket is None:
        raise ToolNotFound(f"ticket {args.ticket_id} not found")
    if ticket.status == "resolved":
        raise InvalidState(f"ticket {args.ticket_id} is already resolved")
    ticket.status, ticket.team = "escalated", args.team
    _audit(ctx, "escalate_ticket", ticket.ticket_id, team=args.team, note=args.note)
    return _ticket_record(ticket)


@tool(
    risk=RiskLevel.IRREVERSIBLE,
    result=DeviceRecord,
    description="Erase a lost or stolen device remotely. Everything on it is gone for good.",
)
def wipe_device(ctx: ToolContext, args: WipeDeviceArgs) -> DeviceRecord:
    device = ctx.db.get(Device, (_tenant(ctx), args.device_id), with_for_update=True)
    if device is None:
        raise ToolNotFound(f"device {args.device_id} not found")
    if device.status == "wiped":
        raise InvalidState(f"device {args.device_id} was already wiped")
    device.status, device.wiped_at = "wiped", utcnow()
    _audit(ctx, "wipe_device", device.device_id, reason=args.reason)
    return _device_record(device)


HELPDESK_TOOLS = (
    find_employee,
    list_devices,
    get_ticket,
    reset_password,
    escalate_ticket,
    wipe_device,
)


def build_registry() -> ToolRegistry:
    """A registry of the helpdesk tools (a new one each call)."""
    return ToolRegistry(HELPDESK_TOOLS)
