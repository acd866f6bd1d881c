"""The four fault scenarios; each returns its ``Figures`` (see ``harness``)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from waypost.runtime.settings import LangfuseSettings

from tests.faults.harness import (
    Figures,
    FlakyModel,
    WorkerFleet,
    acting_worker,
    api,
    environment,
    judge,
    kill_connections,
    restart_cluster,
    retried_runs,
    settings_for,
    submit_and_wait,
    write_config,
)
from tests.tracing.otlp_receiver import SilentReceiver


async def flaky_model(database_url: str, runs: int, failure_rate: float = 0.3) -> Figures:
    """A model that fails ``failure_rate`` of its calls: timeouts, HTTP 5xx, malformed output."""
    figures = Figures(f"flaky model ({failure_rate:.0%} of calls fail)")
    model = FlakyModel(failure_rate=failure_rate, hang_s=1.0)
    model_url = model.start()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            environment(
                WAYPOST_DATABASE__URL=database_url,
                FAULT_MODEL_URL=model_url,
                FAULT_MODEL_TIMEOUT_S="0.4",
                FAULT_ACT_SLEEP_S="0",
            ),
            api(settings_for(database_url), write_config(Path(tmp))) as url,
        ):
            results = await submit_and_wait(url, figures, runs)
    finally:
        model.stop()
    figures.notes["model calls"] = dict(model.calls)
    return judge(database_url, figures, results)


async def database_connections_killed(
    database_url: str,
    admin_url: str,
    runs: int,
    kills: int = 3,
    every_s: float = 1.0,
    *,
    restart: bool = False,
) -> Figures:
    """Every server connection of the database killed ``kills`` times under load.

    ``restart=True`` restarts the PostgreSQL server instead (bench only: the server is shared).
    """
    what = "server restarted" if restart else "all connections killed"
    figures = Figures(f"database: {what} x{kills} under load")
    database = database_url.rsplit("/", 1)[1]
    with (
        tempfile.TemporaryDirectory() as tmp,
        environment(WAYPOST_DATABASE__URL=database_url, FAULT_ACT_SLEEP_S="0.3"),
        api(settings_for(database_url), write_config(Path(tmp))) as url,
    ):

        async def fault() -> None:
            killed = []
            for _ in range(kills):
                await asyncio.sleep(every_s)
                if restart:
                    await asyncio.to_thread(restart_cluster)
                    killed.append("restart")
                else:
                    killed.append(await asyncio.to_thread(kill_connections, admin_url, database))
            figures.notes["connections killed per round"] = killed

        results = await submit_and_wait(url, figures, runs, while_running=fault)
    return judge(database_url, figures, results)


async def workers_killed(
    database_url: str, runs: int, kills: int = 2, every_s: float = 0.5, lease_s: float = 2.0
) -> Figures:
    """``waypost worker`` processes SIGKILLed in a loop, each right after it acted in a run.

    The victim is a worker that owns a running run whose side effect has committed: the worst
    moment, since the run must be finished elsewhere without acting again.
    """
    figures = Figures(f"worker processes SIGKILLed x{kills}")
    env = {
        "WAYPOST_DATABASE__URL": database_url,
        "WAYPOST_ENV": "test",
        "WAYPOST_LOG_LEVEL": "WARNING",
        "WAYPOST_WORKER__LEASE_S": str(lease_s),
        "WAYPOST_WORKER__HEARTBEAT_S": str(lease_s / 4),
        "FAULT_ACT_SLEEP_S": "1.0",
    }
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        with (
            environment(**env),
            api(settings_for(database_url, lease_s=lease_s), config, workers=False) as url,
        ):
            fleet = WorkerFleet(config, env, size=2)
            try:
                await asyncio.to_thread(fleet.wait_ready)

                async def fault() -> None:
                    for _ in range(kills):
                        await asyncio.sleep(every_s)
                        victim = await asyncio.to_thread(acting_worker, database_url, fleet)
                        if victim is None:
                            break  # nothing in flight any more
                        await asyncio.to_thread(fleet.kill, victim)
                    await asyncio.to_thread(fleet.wait_ready)

                results = await submit_and_wait(url, figures, runs, while_running=fault)
            finally:
                await asyncio.to_thread(fleet.stop)
            figures.notes["workers killed"] = fleet.killed
    judge(database_url, figures, results)
    figures.notes["runs retried on another worker"] = retried_runs(database_url)
    return figures


async def slow_langfuse(database_url: str, runs: int) -> Figures:
    """Tracing on, to a Langfuse that accepts connections and never answers."""
    figures = Figures("slow Langfuse (accepts, never answers)")
    silent = SilentReceiver()
    base_url = silent.start()
    model = FlakyModel(failure_rate=0.0)
    model_url = model.start()
    langfuse = LangfuseSettings(
        public_key="pk-lf-fault",
        secret_key="sk-lf-fault",  # type: ignore[arg-type]
        base_url=base_url,
        timeout_s=0.5,
        flush_timeout_s=0.5,
    )
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            environment(
                WAYPOST_DATABASE__URL=database_url,
                FAULT_MODEL_URL=model_url,
                FAULT_ACT_SLEEP_S="0",
            ),
            api(settings_for(database_url, langfuse=langfuse), write_config(Path(tmp))) as url,
        ):
            results = await submit_and_wait(url, figures, runs)
    finally:
        model.stop()
        silent.stop()
    return judge(database_url, figures, results)
