"""Small graphs for the API tests: a 3-step pipeline, an approval gate and a slow graph."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_store, get_stream_writer
from langgraph.graph import END, START, StateGraph, add_messages
from langgraph.types import interrupt
from pydantic import BaseModel
from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec


class StepsState(TypedDict, total=False):
    topic: str
    steps: Annotated[list[str], operator.add]


class StepsInput(BaseModel):
    topic: str


class StepsOutput(BaseModel):
    topic: str
    steps: list[str]


def build_three_step(deps: GraphDeps) -> Any:
    def step(name: str) -> Any:
        def node(state: StepsState) -> dict[str, Any]:
            get_stream_writer()({"node": name})
            return {"steps": [name]}

        return node

    g = StateGraph(StepsState)
    for name in ("first", "second", "third"):
        g.add_node(name, step(name))
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", "third")
    g.add_edge("third", END)
    return g.compile(checkpointer=deps.checkpointer)


class RefundState(TypedDict, total=False):
    order_id: str
    outcome: str


def build_approval(deps: GraphDeps) -> Any:
    def plan(state: RefundState) -> dict[str, Any]:
        return {"outcome": "planned"}

    def act(state: RefundState) -> dict[str, Any]:
        decision = interrupt(
            {
                "tool": "cancel_order",
                "args": {"order_id": state["order_id"], "reason": "no longer needed"},
                "why": "cancelling an order cannot be undone",
            }
        )
        if isinstance(decision, dict) and decision.get("decision") == "reject":
            return {"outcome": f"rejected: {decision.get('comment')}"}
        args = (decision.get("arguments") if isinstance(decision, dict) else None) or {}
        return {"outcome": f"cancelled {args.get('order_id', state['order_id'])}"}

    g = StateGraph(RefundState)
    g.add_node("plan", plan)
    g.add_node("act", act)
    g.add_edge(START, "plan")
    g.add_edge("plan", "act")
    g.add_edge("act", END)
    return g.compile(checkpointer=deps.checkpointer)


class SlowState(TypedDict, total=False):
    seconds: float
    done: bool


def build_slow(deps: GraphDeps) -> Any:
    async def wait(state: SlowState) -> dict[str, Any]:
        await asyncio.sleep(state.get("seconds", 30))
        return {"done": True}

    g = StateGraph(SlowState)
    g.add_node("wait", wait)
    g.add_edge(START, "wait")
    g.add_edge("wait", END)
    return g.compile(checkpointer=deps.checkpointer)


class ScriptedChat(BaseChatModel):
    """Answers with a fixed message that reports token usage, like a provider would."""

    reply: str = "hello from the model"

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(
            content=self.reply,
            usage_metadata={"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500},
            response_metadata={"model_name": "gpt-4o-mini"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_chat(deps: GraphDeps) -> Any:
    model = ScriptedChat()

    async def chat(state: ChatState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    g = StateGraph(ChatState)
    g.add_node("chat", chat)
    g.add_edge(START, "chat")
    g.add_edge("chat", END)
    return g.compile(checkpointer=deps.checkpointer)


class RoutedState(TypedDict, total=False):
    question: str
    answered_by: str
    prompt: str


def build_routed(deps: GraphDeps) -> Any:
    """Answers with the model its configuration names, as a routed LLM step would pick it."""

    def answer(state: RoutedState, config: RunnableConfig) -> dict[str, Any]:
        configurable = config.get("configurable") or {}
        return {
            "answered_by": configurable.get("model", "default-model"),
            "prompt": configurable.get("prompt", ""),
        }

    g = StateGraph(RoutedState)
    g.add_node("answer", answer)
    g.add_edge(START, "answer")
    g.add_edge("answer", END)
    return g.compile(checkpointer=deps.checkpointer)


class MemoryState(TypedDict, total=False):
    user: str
    note: str
    notes: list[str]


def build_memory(deps: GraphDeps) -> Any:
    """Keeps notes per user in the cross-thread store (``get_store()``), across threads."""

    async def remember(state: MemoryState) -> dict[str, Any]:
        store = get_store()
        namespace = ("notes", state["user"])
        found = await store.asearch(namespace, limit=100)
        await store.aput(namespace, f"n{len(found)}", {"text": state["note"]})
        found = await store.asearch(namespace, limit=100)
        return {"notes": sorted(i.value["text"] for i in found)}

    g = StateGraph(MemoryState)
    g.add_node("remember", remember)
    g.add_edge(START, "remember")
    g.add_edge("remember", END)
    return g.compile(checkpointer=deps.checkpointer)


def make_registry() -> GraphRegistry:
    registry = GraphRegistry()
    registry.register(
        WorkflowSpec(
            "three_step",
            "Three nodes in a row.",
            build_three_step,
            input_schema=StepsInput,
            output_schema=StepsOutput,
        )
    )
    registry.register(WorkflowSpec("approval", "Cancels an order after approval.", build_approval))
    registry.register(WorkflowSpec("slow", "Sleeps (for cancellation tests).", build_slow))
    registry.register(WorkflowSpec("chat", "One scripted chat model call.", build_chat))
    registry.register(WorkflowSpec("routed", "Answers with the configured model.", build_routed))
    registry.register(WorkflowSpec("memory", "Notes per user in the store.", build_memory))
    return registry
