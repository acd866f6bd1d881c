"""Talk to the ``helpdesk`` workflow on a running ``waypost serve``, with the official SDK.

    python try_helpdesk.py "I'm ada@example.com. My laptop was stolen, please wipe it."
    python try_helpdesk.py --thread THREAD_ID "Thanks! I'm locked out too."
    python try_helpdesk.py --approve --url http://127.0.0.1:2024 "..."

A run that reaches an irreversible action pauses; this script shows what the action is and
resumes the run with your decision (``--approve``/``--reject`` answer without asking).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from langgraph_sdk import get_client


async def talk(url: str, message: str, thread_id: str | None, approve: bool | None) -> str:
    """Send one message on a thread (a new one by default); returns the thread id."""
    client = get_client(url=url)
    try:
        if thread_id is None:
            thread_id = (await client.threads.create())["thread_id"]
        result: Any = await client.runs.wait(thread_id, "helpdesk", input={"message": message})
        while "__interrupt__" in result:  # paused: an action waits for a person
            state = await client.threads.get_state(thread_id)
            request = state["interrupts"][0]["value"]  # Waypost's record + LangChain's HITL
            print(f"approval needed: {request['action_requests'][0]['description']}")
            yes = approve if approve is not None else input("approve? [y/N] ").lower() == "y"
            decision = {"decision": "approve"} if yes else {"decision": "reject"}
            result = await client.runs.wait(thread_id, "helpdesk", command={"resume": decision})
        print(f"[{result['status']}] {result['reply']}")
        print(f"thread: {thread_id}")
        return thread_id
    finally:
        await client.http.client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Talk to the helpdesk workflow.")
    parser.add_argument("message")
    parser.add_argument("--url", default="http://127.0.0.1:2024")
    parser.add_argument("--thread", default=None, help="continue this thread")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--approve", action="store_true", default=None)
    answer.add_argument("--reject", dest="approve", action="store_false")
    args = parser.parse_args()
    asyncio.run(talk(args.url, args.message, args.thread, args.approve))


if __name__ == "__main__":
    main()
