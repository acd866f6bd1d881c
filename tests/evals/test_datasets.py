"""Dataset loaders: our JSONL format and tau2 tasks (no answer leaks into the input)."""

from __future__ import annotations

import json

import pytest
from waypost.evals.dataset import load_dataset, tau2_message
from waypost.runtime.errors import ConfigError

from tests.conftest import SHARED_RETAIL
from tests.evals.conftest import GOLDEN


def test_golden_dataset_covers_every_action_type_refusals_transfers_and_identity() -> None:
    cases = load_dataset(str(GOLDEN))
    assert len(cases) >= 30
    tags = {t for c in cases for t in c.tags}
    assert {
        "cancel",
        "modify_items",
        "modify_order_address",
        "modify_payment",
        "return",
        "exchange",
        "modify_user_address",
        "refusal",
        "transfer",
        "identity",
    } <= tags
    refusals = [c for c in cases if "refusal" in c.tags]
    assert all(c.expected.forbidden and not c.expected.changes for c in refusals)
    acting = [c for c in cases if c.expected.status == "completed"]
    assert all(c.expected.changes for c in acting)


def test_tau2_message_is_known_info_and_reason_only() -> None:
    customer = {
        "known_info": "You are Ada, zip 10001.",
        "reason_for_call": "Cancel #W1.",
        "task_instructions": "Insist on the refund.",
        "unknown_info": "No email.",
    }
    assert tau2_message(customer) == "You are Ada, zip 10001. Cancel #W1."


def test_bad_rows_and_missing_files_are_config_errors(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(Exception, match="input"):
        load_dataset(str(bad))
    with pytest.raises(ConfigError):
        load_dataset(str(tmp_path / "missing.jsonl"))
    dup = tmp_path / "dup.jsonl"
    row = json.dumps({"id": "a", "input": {"message": "m"}})
    dup.write_text(f"{row}\n{row}\n")
    with pytest.raises(ConfigError, match="duplicate"):
        load_dataset(str(dup))


@pytest.mark.reference
@pytest.mark.skipif(not SHARED_RETAIL.is_dir(), reason="needs ../shared/retail")
def test_tau2_loader_reads_74_cases_with_the_reference_world() -> None:
    cases = load_dataset(f"tau2:{SHARED_RETAIL / 'tasks_train.jsonl'}")
    assert len(cases) == 74
    assert cases[0].world.endswith("db.json")
    first = json.loads((SHARED_RETAIL / "tasks_train.jsonl").read_text().splitlines()[0])
    assert first["customer"]["task_instructions"] not in cases[0].input.message
    assert cases[0].expected.changes == first["expected_changes"]
