"""Edit forms generated from a tool's JSON schema, and the server-side check of what comes back.

An approval's ``args_schema`` (the tool's pydantic argument model as JSON schema) becomes one
input per property: a text box, a number box, a checkbox, a select for an ``enum``, or a JSON
text area for arrays and objects. The submitted strings are converted back to JSON values
(numbers, booleans, parsed JSON) and validated against the schema with ``jsonschema``; every
problem is reported on its field. An empty box for a required property counts as missing: a
form cannot tell an empty string from no answer, and no tool wants an empty id.
Without a schema the form is inferred from the current arguments' types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArgField", "Change", "changed", "diff_arguments", "form_fields", "parse_arguments"]

PREFIX = "arg."


@dataclass
class ArgField:
    name: str
    label: str
    kind: str  # text | integer | number | checkbox | select | json
    required: bool
    description: str = ""
    options: list[str] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    error: str | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any
    kind: str  # added | removed | changed | same


def _resolve(schema: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """A property's schema with a local ``$ref`` and an ``Optional`` (``anyOf`` with null)
    unwrapped."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(real) == 1:
            merged = {
                **_resolve(schema, real[0]),
                **{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")},
            }
            return merged
    return dict(node)


def _kind(prop: Mapping[str, Any]) -> str:
    if isinstance(prop.get("enum"), list) and all(
        isinstance(v, str | int | float) for v in prop["enum"]
    ):
        return "select"
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return {
        "string": "text",
        "integer": "integer",
        "number": "number",
        "boolean": "checkbox",
    }.get(str(kind), "json")


def _infer(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A schema for arguments that came without one: each value's JSON type."""
    types = {bool: "boolean", int: "integer", float: "number", str: "string"}
    props = {}
    for key, value in arguments.items():
        kind = types.get(type(value))
        props[key] = {"type": kind} if kind else {}
    return {"type": "object", "properties": props, "required": list(arguments)}


def effective_schema(schema: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return schema
    return _infer(arguments)


def _display(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(
    schema: Any,
    arguments: Mapping[str, Any],
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[ArgField]:
    """One field per schema property, filled with ``submitted`` values (after a refused edit)
    or else the current arguments."""
    schema = effective_schema(schema, arguments)
    required = set(schema.get("required") or [])
    fields = []
    for name, raw in schema["properties"].items():
        prop = _resolve(schema, raw)
        kind = _kind(prop)
        current = arguments.get(name, prop.get("default"))
        if submitted is not None:
            text = submitted.get(PREFIX + name, "")
            checked = PREFIX + name in submitted
        else:
            text = _display(current, kind)
            checked = current is True
        fields.append(
            ArgField(
                name=name,
                label=str(prop.get("title") or name),
                kind=kind,
                required=name in required,
                description=str(prop.get("description") or ""),
                options=[str(v) for v in prop.get("enum") or []],
                value=text,
                checked=checked,
                error=(errors or {}).get(name),
            )
        )
    return fields


def _convert(prop: Mapping[str, Any], kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text.strip())
    if kind == "number":
        number = float(text.strip())
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "json":
        return json.loads(text)
    if kind == "select":
        for option in prop.get("enum") or []:
            if str(option) == text:
                return option
        return text
    return text


def parse_arguments(
    schema: Any, arguments: Mapping[str, Any], form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The edited arguments from a submitted form, and the problems per field (empty: valid)."""
    from jsonschema import SchemaError, validators

    schema = effective_schema(schema, arguments)
    required = set(schema.get("required") or [])
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in schema["properties"].items():
        prop = _resolve(schema, raw)
        kind = _kind(prop)
        if kind == "checkbox":
            values[name] = PREFIX + name in form
            continue
        text = form.get(PREFIX + name, "")
        if not text.strip():
            if name in required:
                errors[name] = "This field is required."
            continue  # an empty optional box leaves the argument out
        try:
            values[name] = _convert(prop, kind, text)
        except ValueError:
            errors[name] = {
                "integer": "Enter a whole number.",
                "number": "Enter a number.",
                "json": "Enter valid JSON.",
            }.get(kind, "Invalid value.")
    if errors:
        return values, errors
    try:
        validator_cls = validators.validator_for(schema)
        validator_cls.check_schema(schema)
    except SchemaError:
        return values, errors  # an unusable schema: the workflow re-validates the edit
    for problem in validator_cls(schema).iter_errors(values):
        errors.setdefault(_field_of(problem, schema), _message(problem))
    return values, errors


def _field_of(problem: Any, schema: Mapping[str, Any]) -> str:
    if problem.path:
        return str(problem.path[0])
    if problem.validator == "required":  # "'x' is a required property"
        for name in schema.get("properties", {}):
            if f"'{name}'" in problem.message:
                return str(name)
    return "__all__"


def _message(problem: Any) -> str:
    validator = problem.validator
    limit = problem.validator_value
    if validator == "minimum":
        return f"Must be at least {limit}."
    if validator == "maximum":
        return f"Must be at most {limit}."
    if validator == "exclusiveMinimum":
        return f"Must be greater than {limit}."
    if validator == "exclusiveMaximum":
        return f"Must be less than {limit}."
    if validator == "minLength":
        return f"Must be at least {limit} characters."
    if validator == "maxLength":
        return f"Must be at most {limit} characters."
    if validator == "pattern":
        return f"Must match {limit}."
    if validator == "enum":
        return "Must be one of: " + ", ".join(map(str, limit)) + "."
    if validator == "required":
        return "This field is required."
    return str(problem.message)


def changed(schema: Any, current: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether submitted values differ from the current arguments (a key the call leaves out
    counts as its schema default)."""
    schema = effective_schema(schema, current)
    props = schema["properties"]
    for key, value in values.items():
        default = _resolve(schema, props.get(key, {})).get("default")
        if current.get(key, default) != value:
            return True
    return False


def diff_arguments(before: Any, after: Any) -> list[Change]:
    """Key by key: what an edit changed (both sides' keys, in the original order)."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key not in new:
            changes.append(Change(key, old[key], None, "removed"))
        elif key not in old:
            changes.append(Change(key, None, new[key], "added"))
        elif old[key] != new[key]:
            changes.append(Change(key, old[key], new[key], "changed"))
        else:
            changes.append(Change(key, old[key], new[key], "same"))
    return changes
