"""Local model speed: the adapter's overhead, and throughput with concurrent calls.

``overhead``: our LocalChatModel adapter vs calling xllamacpp directly. Both paths hit the same
loaded server with the same greedy request (prompt cache off, so every call processes its whole
prompt); runs are interleaved so machine noise hits both alike. Prints prompt and generation
tokens/s (llama.cpp's own timings), end-to-end tokens/s and wall time, median of N repetitions.
On a shared machine the two paths' wall times differ by more than the adapter costs, so the
overhead is also measured exactly: time inside ``LocalChatModel.invoke`` minus the time spent in
the server call it wraps (message mapping, LangChain callbacks, parsing), as a share of the direct
call's wall time. Target: under 5%.

``concurrency``: threads calling one shared model (as a server's workers do) at 1, 2 and 4 calls
in flight; the model has as many llama.cpp slots as the highest level, so concurrent calls are
decoded in one batch. Each call is the workflow's shape: a shared system prefix of a few hundred
tokens (a store policy; the prompt cache serves it after the first call) and a short varying
question, exactly ``--max-tokens`` generated (EOS ignored, so every level does the same work).
Prints aggregate generated tokens/s (all tokens over the level's wall time), the speedup over one
call at a time, p50/p95 call latency, the share of prompt tokens served from the cache and the
average number of calls llama.cpp decoded together. Target: 4 calls >= 1.5x one call's tokens/s.

    .venv/bin/python bench/local_model.py [overhead|concurrency|all] [--model local:NAME]
        [--reps 5] [--max-tokens 64] [--levels 1,2,4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from rich.console import Console
from rich.table import Table
from waypost.agents.local.chat import LocalChatModel
from waypost.runtime.settings import Settings

PROMPT = (
    "Explain in plain English what a database index is, why it speeds up reads, "
    "and what it costs on writes. Use a short example with a users table."
)

# A few hundred tokens of shared prefix, like a workflow's system prompt and policy.
POLICY = "\n".join(
    [
        "You are a customer support agent for an online store. Follow the store policy exactly.",
        "Policy:",
        *(
            f"{i}. {rule}"
            for i, rule in enumerate(
                [
                    "Authenticate the customer by email, or by name and zip code, first.",
                    "Pending orders can be cancelled; the refund goes to the original payment.",
                    "Pending orders can be modified once: address, payment, or item variants.",
                    "Delivered orders can be returned or exchanged within the return window.",
                    "An exchange keeps the product and changes the variant; never the product.",
                    "Gift-card refunds arrive at once; card refunds take 5 to 7 business days.",
                    "Never act on another customer's order; never invent order or item ids.",
                    "Explain every declined request with the policy rule that declines it.",
                    "Ask for explicit confirmation before any change to an order.",
                    "Processed orders cannot be cancelled or modified; offer a return.",
                    "Shipping fees are not refunded unless the item arrived damaged.",
                    "Price differences of an exchange are charged or refunded at once.",
                    "Only one modification per pending order; collect all changes first.",
                    "Transfer to a human agent when a request is outside this policy.",
                    "Keep replies short, polite and specific to the customer's orders.",
                ]
                * 2,
                1,
            )
        ),
    ]
)
QUESTIONS = [
    "Can I cancel order #W{n} that I placed yesterday by mistake?",
    "My order #W{n} arrived damaged; how do I return it?",
    "I want a different size for the shoes in order #W{n}.",
    "How long does a refund to my credit card take for order #W{n}?",
]


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


def overhead(model: LocalChatModel, reps: int, max_tokens: int, console: Console) -> None:
    """The adapter's own cost per call vs calling xllamacpp directly."""
    server = model.load(progress=True)
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
    try:
        for rep in range(reps):
            # A distinct prefix per call defeats any prompt reuse across calls.
            for path in ("direct", "adapter") if rep % 2 == 0 else ("adapter", "direct"):
                prompt = f"[{path} {rep}] {PROMPT}"
                if path == "direct":
                    request = {
                        "messages": [{"role": "user", "content": prompt}],
                        "temperature": 0.0,
                        "max_tokens": max_tokens,
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
    finally:
        del server.chat  # back to the class's method: the server is shared by the next mode

    med = statistics.median
    table = Table(title=f"local:{model.model}, median of {reps}, {max_tokens} new tokens")
    for col in ("path", "prompt tok/s", "gen tok/s", "end-to-end tok/s", "wall ms", "vs direct"):
        table.add_column(col, justify="right")
    base_wall = med(direct.wall_s)
    for name, s in (("xllamacpp direct", direct), ("LocalChatModel", adapter)):
        wall = med(s.wall_s)
        table.add_row(
            name,
            f"{med(s.prompt_tps):.1f}",
            f"{med(s.gen_tps):.1f}",
            f"{med(t / w for t, w in zip(s.tokens, s.wall_s, strict=True)):.1f}",
            f"{wall * 1000:.0f}",
            "-" if s is direct else f"{(wall - base_wall) / base_wall * 100:+.1f}%",
        )
    console.print(table)
    own = [a - i for a, i in zip(adapter.wall_s, inner, strict=True)]
    console.print(
        f"adapter's own time per call: median {med(own) * 1000:.2f} ms, max "
        f"{max(own) * 1000:.2f} ms = [bold]{med(own) / base_wall * 100:.3f}%[/bold] of a direct "
        f"call ({base_wall * 1000:.0f} ms); target < 5%"
    )


@dataclass
class Level:
    calls: int
    wall_s: float
    cpu_s: float  # this process's CPU time: llama.cpp's threads run in it
    latencies_s: list[float]
    out_tokens: int
    prompt_tokens: int
    cached_tokens: int
    busy_slots: float

    @property
    def tps(self) -> float:
        return self.out_tokens / self.wall_s


def _call(model: LocalChatModel, n: int, max_tokens: int) -> tuple[float, int, int, int]:
    question = QUESTIONS[n % len(QUESTIONS)].format(n=8_000_000 + n)
    started = time.perf_counter()
    reply = model.invoke(
        [SystemMessage(POLICY), HumanMessage(question)], max_tokens=max_tokens, ignore_eos=True
    )
    latency = time.perf_counter() - started
    usage = reply.usage_metadata or {"input_tokens": 0, "output_tokens": 0}
    cached = int((usage.get("input_token_details") or {}).get("cache_read", 0) or 0)
    return latency, usage["output_tokens"], usage["input_tokens"], cached


def _level(
    model: LocalChatModel, concurrent: int, rounds: int, max_tokens: int, offset: int
) -> Level:
    server = model.load()
    before = server.metrics()
    calls = concurrent * rounds
    cpu_started = time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrent) as pool:
        results = list(
            pool.map(lambda n: _call(model, n, max_tokens), range(offset, offset + calls))
        )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    after = server.metrics()
    decodes = after["n_decode_total"] - before["n_decode_total"]
    # every decode step advances each busy slot by one token (prompt batches aside)
    predicted = after["tokens_predicted_total"] - before["tokens_predicted_total"]
    return Level(
        calls=calls,
        wall_s=wall,
        cpu_s=cpu,
        latencies_s=[r[0] for r in results],
        out_tokens=sum(r[1] for r in results),
        prompt_tokens=sum(r[2] for r in results),
        cached_tokens=sum(r[3] for r in results),
        busy_slots=predicted / decodes if decodes else 0.0,
    )


def concurrency(
    model: LocalChatModel, levels: list[int], rounds: int, max_tokens: int, console: Console
) -> None:
    """Aggregate tokens/s and latency with 1..N calls in flight on one shared model."""
    model.load(progress=True)
    # Every slot holds the shared prefix before timing starts, as in a server that has been
    # running the workflow (calls that start together each compute a prefix nobody cached yet).
    _level(model, max(levels), 1, 4, -max(levels))
    table = Table(
        title=(
            f"local:{model.model}: {model.parallel_slots} slots x {model.n_ctx} ctx, "
            f"{max_tokens} tokens per call, {rounds} rounds per level"
        )
    )
    for col in (
        "in flight", "calls", "wall s", "agg gen tok/s", "vs 1", "p50 ms", "p95 ms",
        "prompt cached", "calls per decode", "tok per CPU s",
    ):  # fmt: skip
        table.add_column(col, justify="right")
    base: float | None = None
    offset = 1
    for concurrent in levels:
        level = _level(model, concurrent, rounds, max_tokens, offset)
        offset += level.calls
        base = base or level.tps
        lat = sorted(level.latencies_s)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        table.add_row(
            str(concurrent),
            str(level.calls),
            f"{level.wall_s:.1f}",
            f"{level.tps:.1f}",
            f"{level.tps / base:.2f}x",
            f"{statistics.median(lat) * 1000:.0f}",
            f"{p95 * 1000:.0f}",
            f"{level.cached_tokens / max(level.prompt_tokens, 1):.0%}",
            f"{level.busy_slots:.2f}",
            f"{level.out_tokens / level.cpu_s:.1f}",
        )
    console.print(table)
    console.print("target: 4 in flight >= 1.5x the aggregate tokens/s of 1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", nargs="?", choices=("overhead", "concurrency", "all"), default="all"
    )
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("--reps", type=int, default=5, help="overhead: repetitions per path")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--levels", default="1,2,4", help="concurrency: calls in flight")
    parser.add_argument("--rounds", type=int, default=3, help="concurrency: calls per slot")
    parser.add_argument(
        "--threads",
        default=None,
        help="llama.cpp threads, comma-separated to compare (default: WAYPOST_MODELS__N_THREADS)",
    )
    args = parser.parse_args()
    console = Console(width=130)
    levels = [int(x) for x in args.levels.split(",")]

    # WAYPOST_MODELS__* settings apply (context per slot, prompt cache); slots = highest level
    settings = Settings().models.model_copy(update={"parallel_slots": max(levels)})
    threads = [int(x) for x in args.threads.split(",")] if args.threads else [settings.n_threads]
    for n_threads in threads:
        model = LocalChatModel.from_settings(args.model, settings).model_copy(
            update={"max_tokens": args.max_tokens, "n_threads": n_threads}
        )
        started = time.perf_counter()
        model.load(progress=True)
        console.print(
            f"local:{model.model} loaded in {time.perf_counter() - started:.1f}s: "
            f"{model.server_options().n_threads or os.cpu_count()} threads, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )
        if args.mode in ("overhead", "all"):
            overhead(model, args.reps, args.max_tokens, console)
        if args.mode in ("concurrency", "all"):
            concurrency(model, levels, args.rounds, args.max_tokens, console)


if __name__ == "__main__":
    main()
