"""Retrieval collections over HTTP: ingest, search with citations, errors as 4xx with codes."""

from __future__ import annotations

import httpx

DOCS = {
    "documents": [
        {
            "id": "lamp",
            "title": "Desk lamp",
            "content": "The desk lamp comes in black (42.50 USD) and brass (55.00 USD).",
            "metadata": {"category": "lighting"},
        },
        {"id": "kettle", "title": "Kettle", "content": "The kettle holds 1.7 litres."},
    ]
}


async def test_ingest_search_list_delete(http: httpx.AsyncClient) -> None:
    assert (await http.post("/collections/kb/documents", json=DOCS)).status_code == 404
    created = await http.put("/collections/kb", json={})
    assert created.status_code == 201 and created.json()["embedder"] == "local:minilm"
    assert (await http.put("/collections/kb", json={"embedder": "hash"})).status_code == 409
    made = await http.post("/collections/kb/documents", json=DOCS)
    assert made.status_code == 200, made.text
    assert made.json()["documents_added"] == 2 and made.json()["embedded"] >= 2
    again = (await http.post("/collections/kb/documents", json=DOCS)).json()
    assert again["embedded"] == 0 and again["documents_unchanged"] == 2

    found = await http.post("/collections/kb/search", json={"query": "lamp colours", "k": 2})
    assert found.status_code == 200
    top = found.json()["hits"][0]
    assert top["doc_key"] == "lamp" and top["chunk_id"].startswith("lamp#")
    assert top["meta"]["category"] == "lighting"

    listed = (await http.get("/collections")).json()["collections"]
    assert [(c["name"], c["documents"]) for c in listed] == [("kb", 2)]
    assert (await http.delete("/collections/kb")).status_code == 204
    assert (await http.get("/collections/kb")).status_code == 404


async def test_bad_input_answers_4xx_with_a_code(http: httpx.AsyncClient) -> None:
    missing = await http.post("/collections/none/search", json={"query": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad_embedder = await http.put("/collections/kb2", json={"embedder": "psychic:1"})
    assert bad_embedder.status_code == 422
    assert bad_embedder.json()["error"]["details"]["field"] == "embedder"
    bad_name = await http.put("/collections/bad%20name", json={})
    assert bad_name.status_code == 422 and bad_name.json()["error"]["code"] == "invalid_input"
    await http.put("/collections/kb", json={})
    empty = await http.post("/collections/kb/documents", json={"documents": []})
    assert empty.status_code == 422
    too_many = {"documents": [{"id": str(i), "content": "x"} for i in range(50_001)]}
    big = await http.post("/collections/kb/documents", json=too_many)
    assert big.status_code == 422 and big.json()["error"]["code"] == "too_many_documents"
    mode = await http.post("/collections/kb/search", json={"query": "x", "mode": "psychic"})
    assert mode.status_code == 422
