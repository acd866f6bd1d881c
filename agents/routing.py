"""Per-step model routing: which model serves each model step of each workflow.

A routing table maps workflow -> step -> route, with ``"*"`` as the default at either level::

    {"retail_support": {"intake": {"model": "local:qwen2.5-coder-0.5b"},
                        "plan": {"model": "local:qwen2.5-coder-0.5b",
                                 "fallbacks": ["local:qwen2.5-coder-1.5b"], "cascade": true}},
     "*": {"*": {"model": "local:qwen2.5-coder-0.5b"}}}

Lookup order for (workflow, step): ``[workflow][step]``, ``[workflow]["*"]``, ``["*"][step]``,
``["*"]["*"]``, then the configured default model. A route's ``fallbacks`` take over when the
model before them fails (provider error, timeout, output that stays invalid after the re-asks).
With ``cascade`` the step runs on the first model alone and escalates to the next one when its
output fails validation (no re-asks on the smaller model) or when the workflow's own validator
rejects what it produced; only that step escalates, the others keep their models.

The table comes from settings (``WAYPOST_ROUTING__FILE`` = a JSON or TOML file,
``WAYPOST_ROUTING__TABLE`` = inline JSON) and may be overridden per assistant with
``config.configurable.routing`` (same shape), so assistant versions carry their routing.

A step routed to ``code`` calls no model: the workflow's own code answers it (each model step
of a workflow has a code path, the one it degrades to when every model fails). It is the
smallest capable model when code is good enough, which a sweep can measure like any other.

A compact one-line form names one workflow's steps (what ``waypost eval --routing/--sweep``
take and what a scorecard's model column stores): ``intake=A,plan=A>B`` routes ``intake`` to
model A and cascades ``plan`` from A to B; ``A|B`` is A with B as a plain fallback; ``*`` is
every other step.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from waypost.runtime.errors import ConfigError

__all__ = [
    "ANY",
    "CODE",
    "ResolvedRoute",
    "RoutingTable",
    "StepRoute",
    "load_routing",
    "parse_route_spec",
    "parse_routing",
    "routing_from_settings",
]

ANY = "*"
CODE = "code"
"""The route of a step answered by the workflow's code, with no model."""


class StepRoute(BaseModel):
    """How one step picks its model: a primary, fallbacks in order, and the cascade switch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    fallbacks: tuple[str, ...] = ()
    cascade: bool = False
    max_reasks: int | None = Field(default=None, ge=0, le=10)

    @field_validator("model", "fallbacks")
    @classmethod
    def _model_names(cls, value: Any) -> Any:
        from waypost.agents.registry import parse_model_name

        for name in [value] if isinstance(value, str) else value:
            if name != CODE and not name.startswith("scripted:"):
                parse_model_name(name)  # ConfigError for a malformed name
        return value

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.model, *self.fallbacks]))

    @property
    def is_code(self) -> bool:
        return self.model == CODE


@dataclass(frozen=True)
class ResolvedRoute:
    """A step's route and where it came from (``table``, ``override`` or ``default``)."""

    route: StepRoute
    source: str


class RoutingTable(BaseModel):
    """workflow -> step -> ``StepRoute``; ``"*"`` matches any workflow or step."""

    model_config = ConfigDict(frozen=True)

    workflows: dict[str, dict[str, StepRoute]] = Field(default_factory=dict)

    def route(self, workflow: str, step: str) -> StepRoute | None:
        for w, s in ((workflow, step), (workflow, ANY), (ANY, step), (ANY, ANY)):
            found = self.workflows.get(w, {}).get(s)
            if found is not None:
                return found
        return None

    def resolve(self, workflow: str, step: str, default_model: str) -> ResolvedRoute:
        found = self.route(workflow, step)
        if found is None:
            return ResolvedRoute(StepRoute(model=default_model), "default")
        return ResolvedRoute(found, "table")

    def merged(self, override: RoutingTable) -> RoutingTable:
        """This table with ``override``'s steps replacing ours (per workflow, per step)."""
        out = {w: dict(steps) for w, steps in self.workflows.items()}
        for w, steps in override.workflows.items():
            out.setdefault(w, {}).update(steps)
        return RoutingTable(workflows=out)

    def to_json(self) -> dict[str, Any]:
        return {
            w: {s: r.model_dump(mode="json", exclude_defaults=True) for s, r in steps.items()}
            for w, steps in self.workflows.items()
        }

    def model_names(self) -> set[str]:
        """Every model any route may use (``code`` is none)."""
        return {
            m
            for steps in self.workflows.values()
            for r in steps.values()
            for m in r.models
            if m != CODE
        }

    def label(self, workflow: str) -> str:
        """The compact form of ``workflow``'s routes (``"*"`` routes included)."""
        steps = {**self.workflows.get(ANY, {}), **self.workflows.get(workflow, {})}
        parts = []
        for step, r in sorted(steps.items(), key=lambda kv: (kv[0] == ANY, kv[0])):
            sep = ">" if r.cascade else "|"
            parts.append(f"{step}={sep.join(r.models)}")
        return ",".join(parts)

    def __bool__(self) -> bool:
        return bool(self.workflows)


def parse_routing(raw: Any, *, source: str = "routing") -> RoutingTable:
    """A ``RoutingTable`` from its JSON shape; a step given as a string is ``{"model": it}``.

    Raises ``ConfigError`` naming ``source`` and the bad entry.
    """
    if raw is None:
        return RoutingTable()
    if isinstance(raw, RoutingTable):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a routing table is an object {{workflow: {{step: route}}}}")
    workflows: dict[str, dict[str, StepRoute]] = {}
    for workflow, steps in raw.items():
        if not isinstance(steps, dict):
            raise ConfigError(f"{source}: {workflow!r} must map step names to routes")
        workflows[str(workflow)] = {}
        for step, spec in steps.items():
            value = {"model": spec} if isinstance(spec, str) else spec
            try:
                workflows[str(workflow)][str(step)] = StepRoute.model_validate(value)
            except (ValidationError, ConfigError) as exc:
                detail = exc.message if isinstance(exc, ConfigError) else _first_error(exc)
                raise ConfigError(f"{source}: route {workflow}.{step}: {detail}") from exc
    return RoutingTable(workflows=workflows)


def parse_route_spec(spec: str, workflow: str) -> RoutingTable:
    """``"intake=A,plan=A>B"`` -> a table for ``workflow`` (``>`` cascades, ``|`` falls back)."""
    steps: dict[str, dict[str, Any]] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        step, sep, models = part.partition("=")
        if not sep or not step.strip() or not models.strip():
            raise ConfigError(
                f"route {part!r} must be STEP=MODEL (e.g. plan=local:qwen2.5-coder-0.5b, "
                "plan=A>B to cascade, plan=A|B for a fallback)"
            )
        if ">" in models and "|" in models:
            raise ConfigError(f"route {part!r}: use either '>' (cascade) or '|' (fallback)")
        cascade = ">" in models
        names = [m.strip() for m in models.replace(">", "|").split("|")]
        if not all(names):
            raise ConfigError(f"route {part!r} has an empty model name")
        steps[step.strip()] = {"model": names[0], "fallbacks": names[1:], "cascade": cascade}
    if not steps:
        raise ConfigError(f"routing spec {spec!r} names no step")
    return parse_routing({workflow: steps}, source=f"routing spec {spec!r}")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def load_routing(path: Path | str) -> RoutingTable:
    """A routing table from a JSON or TOML file (by suffix; ConfigError when unreadable)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"routing file {p} does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if p.suffix == ".toml" else "JSON"
        raise ConfigError(f"routing file {p} is not valid {kind}: {exc}") from exc
    if isinstance(raw, dict) and "routing" in raw and isinstance(raw["routing"], dict):
        raw = raw["routing"]  # a scorecard-style or sectioned file: {"routing": {...}}
    return parse_routing(raw, source=str(p))


def routing_from_settings(settings: Any) -> RoutingTable:
    """The deployment's table: the file (``routing.file``), then inline ``routing.table``."""
    cfg = getattr(settings, "routing", None)
    if cfg is None:
        return RoutingTable()
    table = load_routing(cfg.file) if cfg.file else RoutingTable()
    if cfg.table:
        table = table.merged(parse_routing(cfg.table, source="WAYPOST_ROUTING__TABLE"))
    return table
