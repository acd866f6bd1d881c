"""``waypost docs ...``: ingest files and folders into a collection, search it, list them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from waypost.cli._common import console, ensure_database, err_console, load_settings

app = typer.Typer(
    help="Retrieval collections: ingest documents, search them.", no_args_is_help=True
)


def _count_files(paths: list[Path]) -> int:
    from waypost.retrieval.loaders import SUFFIXES

    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(1 for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.suffix.lower() == ".jsonl" and p.is_file():
            total += sum(1 for line in p.open(encoding="utf-8") if line.strip())
        else:
            total += 1
    return total


@app.command("ingest")
def ingest(
    collection: str = typer.Argument(..., help="Collection name (created when new)."),
    paths: list[Path] = typer.Argument(..., help="Files or folders (md, txt, html, pdf, jsonl)."),
    tenant: str = typer.Option("default", help="The tenant that owns the collection."),
    embedder: str | None = typer.Option(None, help="local:minilm | openai:<model> | hash."),
    replace: bool = typer.Option(
        False, help="Remove the collection's documents that are not in PATHS."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Ingest documents; unchanged ones are skipped, changed ones re-embed only new chunks."""
    from waypost.retrieval import ensure_collection, ingest_documents, iter_documents
    from waypost.retrieval.embeddings import make_embedder

    settings = load_settings()
    engine = ensure_database(settings)
    emb = make_embedder(settings.retrieval, embedder)
    coll = ensure_collection(engine, tenant, collection, emb)
    total = _count_files(paths)
    with Progress(
        TextColumn("[bold]ingest[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not progress,
    ) as bar:
        task = bar.add_task(collection, total=total)
        report = ingest_documents(
            engine,
            coll,
            iter_documents(paths),
            emb,
            replace=replace,
            max_chars=settings.retrieval.max_chunk_chars,
            overlap_chars=settings.retrieval.overlap_chars,
            on_progress=lambda n: bar.advance(task, n),
        )
    for error in report.errors:
        err_console.print(
            f"[red]error\\[{error.code}][/red] {escape(error.path)}: {escape(error.message)}"
        )
    body = report.as_dict()
    body.pop("errors")
    console.print(" ".join(f"{k}={v}" for k, v in body.items()) + f" errors={len(report.errors)}")
    if report.errors:
        raise typer.Exit(1)


@app.command("search")
def search_cmd(
    collection: str = typer.Argument(...),
    query: str = typer.Argument(...),
    k: int = typer.Option(5, "-k", help="How many chunks."),
    mode: str = typer.Option("hybrid", help="hybrid | lexical | vector"),
    tenant: str = typer.Option("default"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Hybrid search of a collection."""
    from waypost.retrieval import search
    from waypost.retrieval.embeddings import make_embedder
    from waypost.retrieval.search import collection_of

    settings = load_settings()
    engine = ensure_database(settings)
    coll = collection_of(engine, tenant, collection)
    emb = make_embedder(settings.retrieval, coll.embedder)
    result = search(engine, emb, tenant=tenant, collection=collection, query=query, k=k, mode=mode)
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    table = Table(title=f"{collection}: {len(result.hits)} hits in {result.latency_ms:.1f} ms")
    for col in ("#", "chunk", "score", "text"):
        table.add_column(col)
    for i, hit in enumerate(result.hits, 1):
        snippet = " ".join(hit.text.split())[:160]
        table.add_row(str(i), escape(hit.chunk_id), f"{hit.score:.4f}", escape(snippet))
    console.print(table)


@app.command("list")
def list_cmd(tenant: str = typer.Option("default")) -> None:
    """The tenant's collections with their document and chunk counts."""
    from waypost.retrieval import list_collections

    settings = load_settings()
    engine = ensure_database(settings)
    with engine.connect() as conn:
        rows = list_collections(conn, tenant)
    table = Table()
    for col in ("collection", "embedder", "documents", "chunks", "version"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"], r["embedder"], str(r["documents"]), str(r["chunks"]), str(r["version"])
        )
    console.print(table)


@app.command("delete")
def delete_cmd(
    collection: str = typer.Argument(...), tenant: str = typer.Option("default")
) -> None:
    """Delete a collection and its documents."""
    from waypost.retrieval.store import delete_collection

    settings = load_settings()
    engine = ensure_database(settings)
    delete_collection(engine, tenant, collection)
    console.print(f"deleted {collection}")
