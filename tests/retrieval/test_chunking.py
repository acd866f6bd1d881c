"""Structure-aware chunking: sections, whole procedures and tables, bounded size, stable ids."""

from __future__ import annotations

from waypost.retrieval.chunking import chunk_document, split_blocks

DOC = """# Accounts

## Eligibility

To open an account, all of these hold:
1. The customer is verified.
2. The customer is at least 18 years old.

3. The customer has fewer than 4 accounts.

## Fees

| Account | Fee |
| --- | --- |
| Blue | 0 |
| Green | 5 |

Some closing words about fees.
"""


def test_blocks_follow_headings_and_keep_lists_and_tables_whole() -> None:
    blocks = split_blocks(DOC)
    headings = [h for h, _ in blocks]
    assert headings[0] == "Accounts > Eligibility"
    procedure = next(b for _, b in blocks if b.startswith("1."))
    assert "3. The customer has fewer than 4 accounts." in procedure  # across the blank line
    table = next(b for _, b in blocks if b.startswith("|"))
    assert table.count("\n") == 3  # header, rule, two rows: one block
    assert blocks[-1] == ("Accounts > Fees", "Some closing words about fees.")


def test_chunks_are_bounded_overlap_and_have_stable_ids() -> None:
    long_text = "# Guide\n\n" + " ".join(f"Sentence number {i} says something." for i in range(300))
    chunks = chunk_document("guide.md", "Guide", long_text, max_chars=400, overlap_chars=60)
    assert len(chunks) > 5
    assert all(len(c.text) <= 400 + 60 + 1 for c in chunks)
    # the next chunk starts with the tail of the previous one
    assert chunks[1].text.split()[0] in chunks[0].text
    again = chunk_document("guide.md", "Guide", long_text, max_chars=400, overlap_chars=60)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]
    assert all(c.chunk_id.startswith("guide.md#") for c in chunks)


def test_an_edit_changes_only_the_ids_of_the_chunks_it_touches() -> None:
    before = chunk_document("a", "A", DOC, max_chars=120)
    after = chunk_document("a", "A", DOC.replace("Some closing", "Other closing"), max_chars=120)
    changed = {c.chunk_id for c in after} - {c.chunk_id for c in before}
    assert len(changed) == 1
    assert "Other closing" in next(c.text for c in after if c.chunk_id in changed)
