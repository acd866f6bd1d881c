"""Large document batches as queued runs of the internal ``waypost.ingest`` workflow.

A batch becomes a run on a thread of its own, created with the run in one transaction, and
owned by the caller's tenant: another tenant's requests for the thread or the run answer 404.
The run input is the batch (durable: a worker that dies mid-batch leaves it to the next, which
re-ingests; documents already stored are then ``unchanged``); its output is the ingest report.
Only ``custom`` events (progress) are streamed, never ``values``, whose first chunk would be
the whole batch again.
"""

from __future__ import annotations

import uuid
from typing import Any

from waypost.graphs.ingest import INGEST_GRAPH_ID, ingest_spec
from waypost.graphs.registry import WorkflowSpec
from waypost.server.models import Run
from waypost.server.store import RunRequest, RunStore, run_kwargs

__all__ = ["INGEST_GRAPH_ID", "internal_workflows", "start_ingest_run"]


def internal_workflows() -> tuple[WorkflowSpec, ...]:
    """Workflows the server itself starts; resolvable by graph id, absent from the registry."""
    return (ingest_spec(),)


def _ingest_request(
    tenant: str, collection: str, documents: list[dict[str, Any]], replace: bool
) -> RunRequest:
    labels = {"collection": collection, "ingest": True}
    return RunRequest(
        assistant_id=INGEST_GRAPH_ID,  # no assistant row: the run keeps this graph id
        graph_id=INGEST_GRAPH_ID,
        input={"collection": collection, "documents": documents, "replace": replace},
        # checkpoint only at the end: the batch is in the run row already, not twice more
        kwargs=run_kwargs(stream_mode=["custom"], durability="exit"),
        metadata={**labels, "documents": len(documents)},
        tenant=tenant,
        thread_metadata=labels,
    )


async def start_ingest_run(
    store: RunStore,
    tenant: str,
    collection: str,
    documents: list[dict[str, Any]],
    *,
    replace: bool = False,
) -> Run:
    """Enqueue the batch as a pending run on a new thread of ``tenant``."""
    request = _ingest_request(tenant, collection, documents, replace)
    return await store.create_run(str(uuid.uuid4()), request, if_not_exists="create")
