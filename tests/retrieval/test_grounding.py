"""The grounding check: unsupported sentences are dropped, flagged, or the answer abstains."""

from __future__ import annotations

from waypost.graphs.kit.retrieval import ABSTAIN, grounded_answer
from waypost.retrieval.grounding import check_answer, claims_of
from waypost.retrieval.search import Hit

LAMP = Hit(
    chunk_id="product:100#abc",
    doc_key="product:100",
    title="Desk Lamp",
    heading="",
    text="| 111 | color white | $100.00 | yes |\n| 112 | color black | $90.00 | yes |",
    score=1.0,
)


def test_claims_are_numbers_ids_and_names() -> None:
    claims = claims_of("Order #W0000001 of the Desk Lamp costs $1,200.50 and ships in 3 days [x].")
    assert {"n:1200.5", "n:3", "i:w0000001", "w:desk lamp"} <= set(claims)


def test_an_unsupported_sentence_is_removed() -> None:
    answer = (
        "The lamp comes in white at $100.00 [product:100#abc]. "
        "It also comes in brass at $120.00 [product:100#abc]. "
        "Black costs $90.00 [product:100#abc]."
    )
    report = grounded_answer(answer, [LAMP])
    assert "brass" not in report.answer and "$120.00" not in report.answer
    assert "$100.00" in report.answer and "$90.00" in report.answer
    assert report.unsupported_count == 1
    assert report.groundedness == 2 / 3
    assert report.citations == ["product:100#abc"]


def test_records_support_uncited_sentences_and_unknown_citations_fail() -> None:
    records = {"order:#W0000001": "order #W0000001 total 100.00 status pending"}
    report = grounded_answer(
        "Your order #W0000001 totals $100.00. The lamp is white [nope#1].", [LAMP], records
    )
    assert report.answer == "Your order #W0000001 totals $100.00."
    assert report.unknown_citations == ["nope#1"]


def test_flag_and_abstain() -> None:
    flagged = check_answer(
        "It costs $5.00 [product:100#abc].", {"product:100#abc": LAMP.text}, action="flag"
    )
    assert flagged.answer.endswith("[unsupported]")
    abstained = grounded_answer("It costs $5.00 [product:100#abc].", [LAMP])
    assert abstained.answer == ABSTAIN and abstained.groundedness == 0.0


def test_a_citation_after_the_full_stop_belongs_to_its_sentence() -> None:
    sources = {"c1": "The kettle costs $40.00.", "c2": "The toaster costs $25.00."}
    report = check_answer("The kettle costs $40.00. [c1] The toaster costs $25.00. [c2]", sources)
    assert [s.citations for s in report.sentences] == [["c1"], ["c2"]]
    assert report.unsupported_count == 0
    assert report.answer == "The kettle costs $40.00 [c1]. The toaster costs $25.00 [c2]."
    wrong = check_answer("The kettle costs $25.00. [c1] The toaster costs $25.00. [c2]", sources)
    assert wrong.unsupported_count == 1 and "kettle" not in wrong.answer
