"""Edit forms from a tool's argument schema: the fields offered, and what the server accepts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from waypost.api.console.forms import changed, diff_arguments, form_fields, parse_arguments
from waypost.api.console.session import csrf_token, read_cookie, sign_session
from waypost.runtime.settings import Settings


class Address(BaseModel):
    city: str
    zip: str = Field(pattern=r"^\d{5}$")


class Args(BaseModel):
    order_id: str = Field(min_length=3, title="Order")
    amount: float = Field(gt=0, le=500)
    quantity: int = Field(default=1, ge=1)
    reason: Literal["damaged", "late"] = "damaged"
    notify: bool = True
    note: str | None = None
    item_ids: list[str] = Field(default_factory=list)
    address: Address | None = None


SCHEMA = Args.model_json_schema()
CURRENT = {"order_id": "#W1", "amount": 42.5, "quantity": 2, "reason": "damaged", "notify": True}


def _form(**values: str) -> dict[str, str]:
    base = {"arg.order_id": "#W1", "arg.amount": "42.5", "arg.quantity": "2"}
    base |= {"arg.reason": "damaged", "arg.notify": "on", "arg.item_ids": "[]"}
    return base | {f"arg.{k}": v for k, v in values.items()}


def test_fields_follow_the_schema() -> None:
    fields = {f.name: f for f in form_fields(SCHEMA, CURRENT)}
    assert [f for f in fields] == list(Args.model_fields)
    assert fields["order_id"].kind == "text" and fields["order_id"].label == "Order"
    assert fields["order_id"].required and fields["order_id"].value == "#W1"
    assert fields["amount"].kind == "number" and fields["amount"].value == "42.5"
    assert fields["quantity"].kind == "integer" and not fields["quantity"].required
    assert fields["reason"].kind == "select" and fields["reason"].options == ["damaged", "late"]
    assert fields["notify"].kind == "checkbox" and fields["notify"].checked
    assert fields["note"].kind == "text" and fields["note"].value == ""  # Optional[str]
    assert fields["item_ids"].kind == "json" and fields["item_ids"].value == ""  # not given
    assert fields["address"].kind == "json"  # a nested model ($ref) is edited as JSON


def test_a_valid_form_becomes_typed_arguments() -> None:
    values, errors = parse_arguments(
        SCHEMA, CURRENT, _form(amount="10", reason="late", item_ids='["a"]', note="")
    )
    assert errors == {}
    assert values == {
        "order_id": "#W1",
        "amount": 10,
        "quantity": 2,
        "reason": "late",
        "notify": True,
        "item_ids": ["a"],
    }  # the empty optional note is left out
    unchecked = {k: v for k, v in _form().items() if k != "arg.notify"}
    assert parse_arguments(SCHEMA, CURRENT, unchecked)[0]["notify"] is False


def test_every_problem_is_reported_on_its_field() -> None:
    _values, errors = parse_arguments(
        SCHEMA,
        CURRENT,
        _form(order_id="", amount="lots", quantity="1.5", item_ids="[unclosed"),
    )
    assert errors == {
        "order_id": "This field is required.",
        "amount": "Enter a number.",
        "quantity": "Enter a whole number.",
        "item_ids": "Enter valid JSON.",
    }
    _values, errors = parse_arguments(
        SCHEMA,
        CURRENT,
        _form(order_id="#W", amount="900", quantity="0", reason="lost"),
    )
    assert errors["order_id"] == "Must be at least 3 characters."
    assert errors["amount"] == "Must be at most 500."
    assert errors["quantity"] == "Must be at least 1."
    assert errors["reason"] == "Must be one of: damaged, late."
    _values, errors = parse_arguments(
        SCHEMA, CURRENT, _form(address='{"city": "Springfield", "zip": "62"}')
    )
    assert set(errors) == {"address"}
    _values, errors = parse_arguments(SCHEMA, CURRENT, _form(amount="0"))
    assert errors == {"amount": "Must be greater than 0."}


def test_without_a_schema_the_form_follows_the_current_arguments() -> None:
    current = {"order_id": "#W1", "amount": 3, "express": False, "tags": ["a"]}
    kinds = {f.name: f.kind for f in form_fields(None, current)}
    assert kinds == {"order_id": "text", "amount": "integer", "express": "checkbox", "tags": "json"}
    values, errors = parse_arguments(
        None, current, {"arg.order_id": "#W2", "arg.amount": "x", "arg.tags": '["b"]'}
    )
    assert errors == {"amount": "Enter a whole number."}
    values, errors = parse_arguments(
        None, current, {"arg.order_id": "#W2", "arg.amount": "4", "arg.tags": '["b"]'}
    )
    assert errors == {} and values == {
        "order_id": "#W2",
        "amount": 4,
        "express": False,
        "tags": ["b"],
    }


def test_a_refused_form_keeps_what_was_typed() -> None:
    submitted = _form(amount="lots")
    fields = {
        f.name: f for f in form_fields(SCHEMA, CURRENT, submitted, {"amount": "Enter a number."})
    }
    assert fields["amount"].value == "lots" and fields["amount"].error == "Enter a number."
    assert fields["order_id"].error is None


def test_the_diff_names_each_change() -> None:
    changes = diff_arguments({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4})
    assert [(c.key, c.kind) for c in changes] == [
        ("a", "same"),
        ("b", "changed"),
        ("c", "removed"),
        ("d", "added"),
    ]
    assert (changes[1].before, changes[1].after) == (2, 5)


def test_session_cookies_are_signed_and_expire() -> None:
    settings = Settings(env="test", secret_key="s3cret-for-tests", _env_file=None)  # type: ignore[call-arg]
    value = sign_session(settings, "key-1")
    session = read_cookie(settings, value)
    assert session is not None and session.key_id == "key-1"
    body, mac = value.split(".")
    assert read_cookie(settings, f"{body}.{mac[:-2]}AA") is None  # tampered signature
    assert read_cookie(settings, f"{body[:-2]}xx.{mac}") is None  # tampered body
    other = Settings(env="test", secret_key="another-secret", _env_file=None)  # type: ignore[call-arg]
    assert read_cookie(other, value) is None  # another deployment's secret
    assert read_cookie(settings, "garbage") is None and read_cookie(settings, None) is None
    expired = settings.model_copy(
        update={"api": settings.api.model_copy(update={"console_session_hours": -1.0})}
    )
    assert read_cookie(settings, sign_session(expired, "key-1")) is None
    assert csrf_token(settings, session.nonce) != csrf_token(other, session.nonce)
    assert csrf_token(settings, session.nonce) != csrf_token(settings, "another-nonce")


def test_a_default_left_as_it_was_is_no_change() -> None:
    current = {"order_id": "#W1", "amount": 42.5}
    assert not changed(SCHEMA, current, {"order_id": "#W1", "amount": 42.5, "notify": True})
    assert changed(SCHEMA, current, {"order_id": "#W1", "amount": 42.5, "notify": False})
    assert changed(SCHEMA, current, {"order_id": "#W2", "amount": 42.5})
