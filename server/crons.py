"""Crons: durable schedules that start runs, exactly once per due time however many processes run.

A cron row holds the run to start (``payload``: the run body, assistant id resolved) and its
``next_run_date`` (UTC, computed with ``croniter`` in the cron's time zone). The scheduler
(``CronScheduler``) runs in every worker-pool process and, woken by a timer, looks for due
crons. Firing one is a single transaction: its first statement advances ``next_run_date`` only
if it still holds the value the scheduler read (a compare-and-set, which blocks a concurrent
process on the row and then finds it changed), and the same transaction inserts the run through
``RunStore.create_run``. Two processes can therefore never both fire one due time, and a fire
that fails leaves the cron due.

Missed fires: a cron whose next run date passed while no scheduler ran (downtime) fires once
when a scheduler next looks, then continues from that moment: the next run date is the next
schedule time after now, so any number of missed times yields one catch-up run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from waypost.runtime.errors import NotFound, ValidationFailed, WaypostError
from waypost.runtime.models import utcnow
from waypost.runtime.rawsql import RawDB, Sql, Tx
from waypost.server.assistants import Page
from waypost.server.serde import iso, json_contains
from waypost.server.signals import Signals
from waypost.server.store import RunRequest, RunStore, run_kwargs

__all__ = [
    "CRON_SORTABLE",
    "Cron",
    "CronScheduler",
    "CronStore",
    "cron_key",
    "next_fire",
    "validate_schedule",
    "validate_timezone",
]

log = logging.getLogger(__name__)
cron_key = "crons"  # woken in process when a cron is created or changed
CRON_SORTABLE = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "next_run_date",
    "end_time",
    "created_at",
    "updated_at",
)
# payload keys that become run options (the rest of a cron body is the cron's own settings)
_RUN_KEYS = (
    "input",
    "metadata",
    "config",
    "context",
    "webhook",
    "interrupt_before",
    "interrupt_after",
    "stream_mode",
    "stream_subgraphs",
    "stream_resumable",
    "durability",
    "multitask_strategy",
    "checkpoint_during",
)


def validate_schedule(schedule: str) -> str:
    try:
        croniter(schedule)
    except (ValueError, KeyError) as exc:  # croniter's errors are ValueErrors
        raise ValidationFailed(f"Invalid cron schedule: '{schedule}'. Reason: {exc}") from None
    return schedule


def validate_timezone(timezone: str | None) -> str | None:
    if timezone is None:
        return None
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"Invalid timezone: '{timezone}'. Use IANA timezone format (e.g. 'America/New_York')."
        ) from None
    return timezone


def next_fire(schedule: str, timezone: str | None, after: dt.datetime) -> dt.datetime:
    """The first schedule time after ``after``, read in ``timezone`` (UTC if None), as UTC."""
    zone = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    local = after.astimezone(zone)
    fire: dt.datetime = croniter(schedule, local).get_next(dt.datetime)
    return fire.astimezone(dt.UTC)


@dataclass
class Cron:
    cron_id: str
    tenant: str
    assistant_id: str
    thread_id: str | None
    user_id: str | None
    schedule: str
    timezone: str | None
    end_time: dt.datetime | None
    payload: dict[str, Any]
    metadata: dict[str, Any]
    on_run_completed: str | None
    enabled: bool
    next_run_date: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        """The LangGraph ``Cron``."""
        return {
            "cron_id": self.cron_id,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "end_time": iso(self.end_time),
            "schedule": self.schedule,
            "timezone": self.timezone,
            "payload": self.payload,
            "next_run_date": iso(self.next_run_date),
            "metadata": self.metadata,
            "on_run_completed": self.on_run_completed,
            "enabled": self.enabled,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def run_request(self) -> RunRequest:
        """The run this cron starts: its payload, stamped with the cron id."""
        payload = self.payload
        config = dict(payload.get("config") or {})
        config["configurable"] = {**(config.get("configurable") or {}), "cron_id": self.cron_id}
        modes = payload.get("stream_mode") or ["values"]
        stateless = self.thread_id is None
        kwargs = run_kwargs(
            stream_mode=[modes] if isinstance(modes, str) else list(modes),
            stream_subgraphs=payload.get("stream_subgraphs"),
            interrupt_before=payload.get("interrupt_before"),
            interrupt_after=payload.get("interrupt_after"),
            webhook=payload.get("webhook"),
            context=payload.get("context"),
            durability=payload.get("durability"),
            on_completion="delete"
            if stateless and (self.on_run_completed or "delete") == "delete"
            else None,
        )
        return RunRequest(
            assistant_id=self.assistant_id,
            input=payload.get("input"),
            config=config,
            kwargs=kwargs,
            metadata={**self.metadata, **(payload.get("metadata") or {}), "cron_id": self.cron_id},
            multitask_strategy=payload.get("multitask_strategy") or "enqueue",
            tenant=self.tenant,
            thread_metadata={"cron_id": self.cron_id} if stateless else None,
        )


# -- statements -----------------------------------------------------------------------------------
_VISIBLE = "tenant = :tenant"
GET = Sql(f"SELECT * FROM crons WHERE cron_id = :cron_id AND {_VISIBLE}")
INSERT = Sql(
    "INSERT INTO crons (cron_id, tenant, assistant_id, thread_id, user_id, schedule, timezone, "
    "end_time, payload, metadata, on_run_completed, enabled, next_run_date, created_at, "
    "updated_at) VALUES (:cron_id, :tenant, :assistant_id, :thread_id, :user_id, :schedule, "
    ":timezone, :end_time, :payload, :metadata, :on_run_completed, :enabled, :next_run_date, "
    ":now, :now)"
)
UPDATE = Sql(
    "UPDATE crons SET schedule = :schedule, timezone = :timezone, end_time = :end_time, "
    "payload = :payload, metadata = :metadata, on_run_completed = :on_run_completed, "
    "enabled = :enabled, next_run_date = :next_run_date, updated_at = :now "
    f"WHERE cron_id = :cron_id AND {_VISIBLE}"
)
DELETE = Sql(f"DELETE FROM crons WHERE cron_id = :cron_id AND {_VISIBLE}")
DUE = Sql(
    "SELECT * FROM crons WHERE enabled = :yes AND next_run_date <= :now "
    "AND (end_time IS NULL OR end_time > :now) ORDER BY next_run_date LIMIT :limit"
)
NEXT_DUE = Sql("SELECT min(next_run_date) AS next FROM crons WHERE enabled = :yes")
# The claim of one fire: only if nobody advanced it since we read it.
ADVANCE = Sql(
    "UPDATE crons SET next_run_date = :next, updated_at = :now "
    "WHERE cron_id = :cron_id AND next_run_date = :expected AND enabled = :yes"
)


class _AlreadyFired(Exception):
    """Another process fired (or changed) the cron since we read it."""


class CronStore:
    """Cron rows for one tenant at a time, and the firing of due ones."""

    def __init__(self, db: RawDB, runs: RunStore, signals: Signals | None = None) -> None:
        self.db = db
        self.runs = runs
        self.signals = signals

    def _row(self, row: dict[str, Any] | None) -> Cron | None:
        if row is None:
            return None
        db = self.db
        return Cron(
            cron_id=row["cron_id"],
            tenant=row["tenant"],
            assistant_id=row["assistant_id"],
            thread_id=row["thread_id"],
            user_id=row["user_id"],
            schedule=row["schedule"],
            timezone=row["timezone"],
            end_time=db.to_dt(row["end_time"]),
            payload=db.loads(row["payload"]) or {},
            metadata=db.loads(row["metadata"]) or {},
            on_run_completed=row["on_run_completed"],
            enabled=bool(row["enabled"]),
            next_run_date=db.to_dt(row["next_run_date"]),
            created_at=db.to_dt(row["created_at"]),
            updated_at=db.to_dt(row["updated_at"]),
        )

    def _params(self, cron: Cron) -> dict[str, Any]:
        db = self.db
        return {
            "cron_id": cron.cron_id,
            "tenant": cron.tenant,
            "assistant_id": cron.assistant_id,
            "thread_id": cron.thread_id,
            "user_id": cron.user_id,
            "schedule": cron.schedule,
            "timezone": cron.timezone,
            "end_time": db.ts(cron.end_time),
            "payload": db.json(cron.payload),
            "metadata": db.json(cron.metadata),
            "on_run_completed": cron.on_run_completed,
            "enabled": cron.enabled,
            "next_run_date": db.ts(cron.next_run_date),
            "now": db.ts(utcnow()),
        }

    def _woken(self) -> None:
        if self.signals is not None:
            self.signals.wake(cron_key)

    # -- API ------------------------------------------------------------------------------------
    async def create(
        self,
        tenant: str,
        *,
        assistant_id: str,
        schedule: str,
        payload: dict[str, Any],
        thread_id: str | None = None,
        timezone: str | None = None,
        end_time: dt.datetime | None = None,
        metadata: dict[str, Any] | None = None,
        on_run_completed: str | None = None,
        enabled: bool = True,
        user_id: str | None = None,
    ) -> Cron:
        """A new schedule; the caller has checked that the assistant (and thread) exist."""
        validate_schedule(schedule)
        validate_timezone(timezone)
        cron_id = str(uuid.uuid4())
        run_payload = {k: payload[k] for k in _RUN_KEYS if payload.get(k) is not None}
        run_payload["assistant_id"] = assistant_id
        cron = Cron(
            cron_id=cron_id,
            tenant=tenant,
            assistant_id=assistant_id,
            thread_id=thread_id,
            user_id=user_id,
            schedule=schedule,
            timezone=timezone,
            end_time=end_time,
            payload=run_payload,
            metadata=dict(metadata or {}),
            on_run_completed=None if thread_id else (on_run_completed or "delete"),
            enabled=enabled,
            next_run_date=next_fire(schedule, timezone, utcnow()),
            created_at=None,
            updated_at=None,
        )
        params = self._params(cron)
        await self.db.tx(lambda tx: tx.execute(INSERT, params))
        self._woken()
        return await self.get(tenant, cron_id)

    async def get(self, tenant: str, cron_id: str) -> Cron:
        row = await self.db.tx(
            lambda tx: tx.one(GET, {"cron_id": cron_id, "tenant": tenant}), write=False
        )
        found = self._row(row)
        if found is None:
            raise NotFound(f"cron {cron_id} not found")
        return found

    async def update(self, tenant: str, cron_id: str, changes: dict[str, Any]) -> Cron:
        """Apply a PATCH: ``end_time: None`` clears it, ``metadata`` merges, run options merge
        into the payload; a new schedule or time zone recomputes the next run date."""
        if not changes:
            raise ValidationFailed("Request body cannot be empty")
        cron = await self.get(tenant, cron_id)
        if "schedule" in changes:
            cron.schedule = validate_schedule(changes["schedule"])
        if "timezone" in changes:
            cron.timezone = validate_timezone(changes["timezone"])
        if "schedule" in changes or "timezone" in changes:
            cron.next_run_date = next_fire(cron.schedule, cron.timezone, utcnow())
        if "end_time" in changes:
            cron.end_time = changes["end_time"]
        if changes.get("metadata") is not None:
            cron.metadata = {**cron.metadata, **changes["metadata"]}
        if changes.get("enabled") is not None:
            cron.enabled = bool(changes["enabled"])
        if changes.get("on_run_completed") is not None and cron.thread_id is None:
            cron.on_run_completed = changes["on_run_completed"]
        run_changes = {k: changes[k] for k in _RUN_KEYS if k in changes and k != "metadata"}
        cron.payload = {**cron.payload, **run_changes, "assistant_id": cron.assistant_id}
        params = self._params(cron)
        if await self.db.tx(lambda tx: tx.execute(UPDATE, params)) != 1:
            raise NotFound(f"cron {cron_id} not found")
        self._woken()
        return await self.get(tenant, cron_id)

    async def delete(self, tenant: str, cron_id: str) -> None:
        params = {"cron_id": cron_id, "tenant": tenant}
        if await self.db.tx(lambda tx: tx.execute(DELETE, params)) != 1:
            raise NotFound(f"cron {cron_id} not found")

    async def search(
        self,
        tenant: str,
        *,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        enabled: bool | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> Page:
        column = sort_by if sort_by in CRON_SORTABLE else "created_at"
        direction = "ASC" if sort_order == "asc" else "DESC"
        where = f"SELECT * FROM crons WHERE {_VISIBLE}"
        params: dict[str, Any] = {"tenant": tenant}
        for key, value in (("assistant_id", assistant_id), ("thread_id", thread_id)):
            if value is not None:
                where += f" AND {key} = :{key}"
                params[key] = value
        if enabled is not None:
            where += " AND enabled = :enabled"
            params["enabled"] = enabled
        stmt = Sql(f"{where} ORDER BY {column} {direction}, cron_id")
        rows = await self.db.tx(lambda tx: tx.all(stmt, params), write=False)
        found = [c for c in map(self._row, rows) if c is not None]
        if metadata:
            found = [c for c in found if json_contains(c.metadata, metadata)]
        return Page(found[offset : offset + limit], offset, limit, offset + limit < len(found))

    async def count(self, tenant: str, **filters: Any) -> int:
        return len((await self.search(tenant, **filters, limit=1_000_000)).items)

    # -- firing ---------------------------------------------------------------------------------
    async def due(self, now: dt.datetime, limit: int = 50) -> list[Cron]:
        """Enabled crons whose next run date has come (of every tenant)."""
        params = {"yes": True, "now": self.db.ts(now), "limit": limit}
        rows = await self.db.tx(lambda tx: tx.all(DUE, params), write=False)
        return [c for c in map(self._row, rows) if c is not None]

    async def next_due(self) -> dt.datetime | None:
        """The earliest next run date of any enabled cron."""
        found = await self.db.tx(lambda tx: tx.scalar(NEXT_DUE, {"yes": True}), write=False)
        return self.db.to_dt(found)

    async def fire(self, cron: Cron, now: dt.datetime) -> str | None:
        """Start the cron's run and advance it, in one transaction; the run id, or None when
        another process fired it first."""
        db = self.db
        assert cron.next_run_date is not None
        claim = {
            "cron_id": cron.cron_id,
            "expected": db.ts(cron.next_run_date),
            "next": db.ts(next_fire(cron.schedule, cron.timezone, now)),
            "now": db.ts(now),
            "yes": True,
        }

        def guard(tx: Tx) -> None:
            if tx.execute(ADVANCE, claim) != 1:
                raise _AlreadyFired

        request = cron.run_request()
        thread_id = cron.thread_id or str(uuid.uuid4())
        if_not_exists = "reject" if cron.thread_id else "create"
        try:
            run = await self.runs.create_run(
                thread_id, request, if_not_exists=if_not_exists, guard=guard
            )
        except _AlreadyFired:
            return None
        except WaypostError as exc:
            # e.g. its thread or assistant is gone: skip this time rather than retry forever
            log.warning("cron %s could not start its run: %s", cron.cron_id, exc)
            await db.tx(lambda tx: tx.execute(ADVANCE, claim))
            return None
        log.info("cron %s started run %s", cron.cron_id, run.run_id)
        return run.run_id


class CronScheduler:
    """Fires due crons from a worker-pool process: a timer loop, also woken by new crons."""

    def __init__(self, crons: CronStore, signals: Signals, poll_s: float = 5.0) -> None:
        self.crons = crons
        self.signals = signals
        self.poll_s = poll_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="waypost-crons")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> int:
        """Fire every cron due now; returns how many runs this process started."""
        now = utcnow()
        started = 0
        for cron in await self.crons.due(now):
            if await self.crons.fire(cron, now) is not None:
                started += 1
        return started

    async def _loop(self) -> None:
        """Tick, then sleep until the next due time (at most ``poll_s``: other processes may
        add crons), or until a cron is created or changed in this process."""
        while True:
            ticket = self.signals.ticket(cron_key)
            wait = self.poll_s
            try:
                await self.tick()
                upcoming = await self.crons.next_due()
                if upcoming is not None:
                    wait = min(wait, max((upcoming - utcnow()).total_seconds(), 0.0) + 0.01)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cron scheduler tick failed")
            await ticket.wait(wait)
