"""Push an eval run to Langfuse (when configured): the dataset, one trace per case, scores.

Uses Langfuse's public REST API with Basic auth (public key / secret key): the dataset and its
items (upserted by id, so re-pushing a dataset is idempotent), one trace per case carrying the
input, the reply and the run's metadata, one score per gating evaluator plus ``passed``, and a
dataset run item linking each trace to its item, so runs of one dataset compare side by side in
the Langfuse UI. Failures are reported, never raised: the eval's result does not depend on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from waypost.evals.dataset import EvalCase
from waypost.evals.runner import CaseResult
from waypost.evals.scorecard import Scorecard
from waypost.runtime.settings import LangfuseSettings

__all__ = ["LangfusePush", "push_from_settings"]

_NS = uuid.UUID("6f0a2e52-8f3c-4c4e-9a51-2f3b8f7f1d10")


class LangfusePush:
    """A small client for the endpoints an eval needs."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _post(self, path: str, body: dict[str, Any]) -> None:
        response = self.client.post(path, json=body)
        response.raise_for_status()

    def push(
        self, card: Scorecard, cases: Sequence[EvalCase], results: Sequence[CaseResult]
    ) -> str:
        """Push ``card``'s run; returns the dataset run name."""
        dataset = f"waypost/{card.workflow}/{card.dataset}"
        run_name = f"{card.model} {card.created_at:%Y-%m-%dT%H:%M:%S}"
        self._post("/api/public/datasets", {"name": dataset, "metadata": {"source": "waypost"}})
        by_id = {r.case_id: r for r in results}
        now = datetime.now(UTC).isoformat()
        events: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        for case in cases:
            item_id = str(uuid.uuid5(_NS, f"{dataset}/{case.id}"))
            self._post(
                "/api/public/dataset-items",
                {
                    "datasetName": dataset,
                    "id": item_id,
                    "input": case.input.model_dump(),
                    "expectedOutput": case.expected.model_dump(exclude={"actions"}),
                    "metadata": {"case_id": case.id, "tags": case.tags},
                },
            )
            result = by_id.get(case.id)
            if result is None:
                continue
            trace_id = uuid.uuid5(_NS, f"{dataset}/{run_name}/{case.id}").hex
            events.append(
                _event(
                    "trace-create",
                    now,
                    {
                        "id": trace_id,
                        "name": f"eval:{card.workflow}",
                        "timestamp": now,
                        "input": case.input.model_dump(),
                        "output": {
                            "reply": result.record.full_reply,
                            "status": result.record.status,
                        },
                        "metadata": {
                            "case_id": case.id,
                            "model": card.model,
                            "cause": result.cause,
                        },
                        "tags": ["eval", *case.tags],
                    },
                )
            )
            scores = {"passed": float(result.passed)} | {
                s.name: s.value for s in result.scores if s.passed is not None
            }
            events += [
                _event(
                    "score-create",
                    now,
                    {
                        "id": uuid.uuid5(_NS, f"{trace_id}/{name}").hex,
                        "traceId": trace_id,
                        "name": name,
                        "value": value,
                    },
                )
                for name, value in scores.items()
            ]
            links.append({"runName": run_name, "datasetItemId": item_id, "traceId": trace_id})
        for start in range(0, len(events), 100):
            self._post("/api/public/ingestion", {"batch": events[start : start + 100]})
        for link in links:
            self._post("/api/public/dataset-run-items", link)
        return run_name


def _event(kind: str, timestamp: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind, "timestamp": timestamp, "body": body}


def push_from_settings(
    settings: LangfuseSettings,
    card: Scorecard,
    cases: Sequence[EvalCase],
    results: Sequence[CaseResult],
    *,
    transport: httpx.BaseTransport | None = None,
) -> str | None:
    """Push when Langfuse is configured; returns the run name, or None when it is not."""
    if not settings.enabled or settings.secret_key is None or settings.base_url is None:
        return None
    auth = httpx.BasicAuth(settings.public_key or "", settings.secret_key.get_secret_value())
    with httpx.Client(
        base_url=settings.base_url, auth=auth, timeout=settings.timeout_s, transport=transport
    ) as client:
        return LangfusePush(client).push(card, cases, results)
