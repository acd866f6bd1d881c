"""The ``helpdesk`` workflow: one tool-calling agent step from Waypost's workflow kit.

    begin -> agent <-> tools -> finish

The kit does the hard parts: the conversation and its turns, read calls at once, approval by
risk (``wipe_device`` always pauses for a person), each side effect once per
(thread, turn, call), and a polite degraded reply when the model fails. This module only says
what makes it a helpdesk: the prompt, the tools, how to describe a call to the reviewer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from waypost.graphs.kit import (
    AgentSettings,
    ApprovalPolicy,
    StepModelsCaller,
    ToolRunner,
    build_tool_agent,
)
from waypost.graphs.registry import GraphDeps, WorkflowSpec
from waypost.runtime.db import make_engine, make_session_factory

from helpdesk.tools import build_registry

__all__ = ["AGENT", "HelpdeskInput", "HelpdeskOutput", "build", "helpdesk_spec"]

SYSTEM_PROMPT = """\
You are the IT helpdesk of Example Corp. Help employees with their accounts, devices and
tickets using your tools; never guess an id, look it up. Identify the employee by work email.
If a device is lost or stolen, find it with list_devices and wipe it with wipe_device: a
person approves every wipe, so say it is done only when the tool succeeded. Reset a password
only for the employee who asks. Escalate what you cannot fix to the right team. Be brief."""

# Irreversible calls always wait for a person; writes (password resets, escalations) do not.
# An assistant may tighten it per deployment: configurable.approval.levels = ["write", ...].
APPROVALS = ApprovalPolicy()


def describe(tool: str, arguments: Mapping[str, Any]) -> str:
    """What the reviewer reads about a pending call."""
    if tool == "wipe_device":
        return (
            f"Erase everything on device {arguments['device_id']} "
            f"(reason: {arguments['reason']}). This cannot be undone."
        )
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return f"{tool}({shown})"


AGENT = AgentSettings(
    name="helpdesk",
    system_prompt=SYSTEM_PROMPT,
    max_steps=8,
    policy=APPROVALS,
    describe=describe,
    policy_section=lambda tool: "Device wipes" if tool == "wipe_device" else None,
)


class HelpdeskInput(BaseModel):
    """The employee's next message on a thread (a new thread is a new conversation)."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        min_length=1,
        max_length=4000,
        examples=["I'm ada@example.com. My laptop was stolen, please wipe it."],
    )


class HelpdeskOutput(BaseModel):
    """What a finished turn returns."""

    status: str  # completed | rejected | nothing_to_do | degraded | step_limit
    reply: str
    executed: list[dict[str, Any]] = Field(default_factory=list)


def build(deps: GraphDeps) -> Any:
    """Compile the workflow from what the server (or the CLI, or a test) gives it."""
    session_factory = deps.session_factory or make_session_factory(
        make_engine(deps.settings.database)
    )
    models = StepModelsCaller(
        deps.settings,
        model_factory=deps.model_factory,
        step_models=deps.overrides.get("step_models"),
        workflow="helpdesk",
    )
    return build_tool_agent(
        model=models.chain("agent"),  # the routing table's model for helpdesk.agent
        runner=ToolRunner(build_registry(), session_factory),
        settings=AGENT,
        checkpointer=deps.checkpointer,
    )


def helpdesk_spec() -> WorkflowSpec:
    return WorkflowSpec(
        name="helpdesk",
        description=(
            "An IT helpdesk agent: looks up employees, devices and tickets, resets passwords, "
            "escalates tickets, and wipes lost devices once a person approves."
        ),
        build=build,
        input_schema=HelpdeskInput,
        output_schema=HelpdeskOutput,
        metadata={"steps_with_models": ["agent"]},
    )
