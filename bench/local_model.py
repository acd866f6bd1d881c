"""Local model throughput: our LocalChatModel adapter vs calling xllamacpp directly.

Both paths hit the same loaded server with the same greedy request (prompt cache off, so every
call processes its whole prompt); runs are interleaved so machine noise hits both alike. Prints
prompt and generation tokens/s (llama.cpp's own timings), end-to-end tokens/s and wall time,
median of N repetitions.

On a shared machine the two paths' wall times differ by more than the adapter costs, so the
overhead is also measured exactly: time inside ``LocalChatModel.invoke`` minus the time spent in
the server call it wraps (message mapping, LangChain callbacks, parsing), as a share of the direct
call's wall time. Target: under 5%.

    .venv/bin/python bench/local_model.py [--reps 5] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage
from rich.console import Console
from rich.table import Table
from waypost.agents.local.chat import LocalChatModel

PROMPT = (
    "Explain in plain English what a database index is, why it speeds up reads, "
    "and what it costs on writes. Use a short example with a users table."
)


@dataclass
class Samples:
    wall_s: list[float] = field(default_factory=list)
    prompt_tps: list[float] = field(default_factory=list)
    gen_tps: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    def add(self, wall: float, timings: dict[str, Any], out_tokens: int) -> None:
        self.wall_s.append(wall)
        self.prompt_tps.append(float(timings["prompt_per_second"]))
        self.gen_tps.append(float(timings["predicted_per_second"]))
        self.tokens.append(out_tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    console = Console(width=110)

    model = LocalChatModel(n_ctx=4096, max_tokens=args.max_tokens)
    started = time.perf_counter()
    server = model.load(progress=True)
    console.print(f"model loaded in {time.perf_counter() - started:.1f}s ({os.cpu_count()} CPUs)")

    direct, adapter = Samples(), Samples()
    inner: list[float] = []  # time the adapter spent inside the server call
    serve = server.chat

    def timed_chat(request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            return serve(request)
        finally:
            inner.append(time.perf_counter() - t0)

    server.chat = timed_chat  # type: ignore[method-assign]
    warm = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    serve(warm)
    for rep in range(args.reps):
        # A distinct prefix per call defeats any prompt reuse across calls.
        for path in ("direct", "adapter") if rep % 2 == 0 else ("adapter", "direct"):
            prompt = f"[{path} {rep}] {PROMPT}"
            if path == "direct":
                request = {
                    "messages": [{"role": "user", "content": prompt}],
                    "temperature": 0.0,
                    "max_tokens": args.max_tokens,
                    "cache_prompt": False,
                }
                t0 = time.perf_counter()
                response = serve(request)
                wall = time.perf_counter() - t0
                direct.add(wall, response["timings"], response["usage"]["completion_tokens"])
            else:
                t0 = time.perf_counter()
                reply = model.invoke([HumanMessage(prompt)], cache_prompt=False)
                wall = time.perf_counter() - t0
                usage = reply.usage_metadata or {"output_tokens": 0}
                adapter.add(wall, reply.response_metadata["timings"], usage["output_tokens"])

    med = statistics.median
    table = Table(title=f"local:{model.model}, median of {args.reps}, {args.max_tokens} new tokens")
    for col in ("path", "prompt tok/s", "gen tok/s", "end-to-end tok/s", "wall ms", "vs direct"):
        table.add_column(col, justify="right")
    base_wall = med(direct.wall_s)
    for name, s in (("xllamacpp direct", direct), ("LocalChatModel", adapter)):
        wall = med(s.wall_s)
        overhead = (wall - base_wall) / base_wall * 100
        table.add_row(
            name,
            f"{med(s.prompt_tps):.1f}",
            f"{med(s.gen_tps):.1f}",
            f"{med(t / w for t, w in zip(s.tokens, s.wall_s, strict=True)):.1f}",
            f"{wall * 1000:.0f}",
            "-" if s is direct else f"{overhead:+.1f}%",
        )
    console.print(table)
    own = [a - i for a, i in zip(adapter.wall_s, inner, strict=True)]
    console.print(
        f"adapter's own time per call: median {med(own) * 1000:.2f} ms, max "
        f"{max(own) * 1000:.2f} ms = [bold]{med(own) / base_wall * 100:.3f}%[/bold] of a direct "
        f"call ({base_wall * 1000:.0f} ms); target < 5%"
    )


if __name__ == "__main__":
    main()
