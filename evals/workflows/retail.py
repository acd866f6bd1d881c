"""``retail_support`` under evaluation: the real graph on the case's store, approvals answered
by the eval's policy, every validator finding collected from the stream of node updates."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.evals.record import CaseRecord, ExecutedCall, StepUsage
from waypost.evals.workflows.base import CaseRun

__all__ = ["MAX_APPROVALS", "RetailSupportWorkflow"]

MAX_APPROVALS = 50  # a plan is bounded; more requests than this means a loop


class RetailSupportWorkflow:
    name = "retail_support"

    def __init__(self, config: RetailGraphConfig | None = None) -> None:
        self.config = config or RetailGraphConfig()

    def run(self, run: CaseRun) -> CaseRecord:
        case = run.case
        graph = build_retail_graph(
            store=StoreClient(build_retail_registry(), run.store.session_factory),
            structured=run.models.structured(case, run.initial_db),
            checkpointer=InMemorySaver(),
            config=self.config,
        )
        cfg: dict[str, Any] = {"configurable": {"thread_id": f"eval-{case.id}"}}
        violations: list[str] = []
        proposed: list[ExecutedCall] = []
        payload_in: Any = {"message": case.input.message}
        for _ in range(MAX_APPROVALS):
            for chunk in graph.stream(payload_in, cfg, stream_mode="updates"):
                for node, update in chunk.items():
                    if node != "__interrupt__" and isinstance(update, dict):
                        violations.extend(update.get("violations") or [])
            snapshot = graph.get_state(cfg)
            if not snapshot.next:
                break
            request = snapshot.interrupts[0].value
            proposed.append(ExecutedCall(name=request["tool"], arguments=request["arguments"]))
            payload_in = Command(resume=run.approvals.decide(case, len(proposed) - 1, request))
        else:
            raise RuntimeError(f"more than {MAX_APPROVALS} approval requests")
        values = snapshot.values
        reply = str(values.get("reply", ""))
        return CaseRecord(
            case_id=case.id,
            status=values.get("status"),
            reply=reply,
            reply_addendum=run.models.addendum(case, reply),
            executed=[
                ExecutedCall(
                    name=e["tool"],
                    arguments=e["arguments"],
                    ok=bool(e["ok"]),
                    error=e.get("error_message"),
                )
                for e in values.get("executed", [])
            ],
            proposed=proposed,
            violations=violations,
            dropped=list(values.get("dropped", [])),
            decisions=[d["decision"] for d in values.get("decisions", [])],
            steps=[_step(s) for s in values.get("steps", [])],
        )


def _step(raw: dict[str, Any]) -> StepUsage:
    return StepUsage(
        step=raw["step"],
        model=raw.get("model"),
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        latency_ms=float(raw.get("latency_ms") or 0),
        error_code=raw.get("error_code"),
    )
