"""The run queue's hot statements (``runtime.rawsql``) and the row -> object conversions.

Written once as SQL text so a run costs no statement compilation. Status vocabularies and columns
are those of migration ``0003_runs``; ``"values"`` is quoted because it is an SQL keyword.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from waypost.runtime.rawsql import RawDB, Sql
from waypost.server.models import Run, Thread

__all__ = [
    "ACTIVE_RUNS",
    "ANY_PENDING",
    "APPEND_EVENTS_AND_NOTIFY",
    "ASSISTANT_FOR_RUN",
    "CLAIM",
    "COUNT_PENDING",
    "FINISH_RUN",
    "FLIP_THREAD",
    "GET_RUN",
    "GET_THREAD",
    "HEARTBEAT",
    "INSERT_APPROVAL",
    "INSERT_APPROVAL_EVENT",
    "INSERT_EVENT",
    "INSERT_EVENT_ROWS",
    "INSERT_RUN",
    "INSERT_RUNNING_RUN",
    "INSERT_RUN_AND_NOTIFY",
    "INSERT_THREAD",
    "LAST_THREAD_EVENT",
    "MAX_SEQ",
    "NOTIFY",
    "PENDING_INTERRUPTS",
    "READ_EVENTS",
    "READ_THREAD_EVENTS",
    "RESOLVED_APPROVAL_EVENTS",
    "RESOLVE_APPROVALS",
    "SETTLE_RUN",
    "SETTLE_THREAD",
    "THREAD_BUSY",
    "THREAD_STATE",
    "THREAD_STATE_PG",
    "WAITING_RUN",
    "WAITING_RUN_AND_NOTIFY",
    "StoredEvent",
    "ThreadEvent",
    "run_from_row",
    "thread_from_row",
]

_RUN_JSON = ("input", "command", "config", "kwargs", "metadata", "output", "error")
_RUN_TS = (
    "lease_expires_at",
    "heartbeat_at",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
)


class StoredEvent(NamedTuple):
    """One stored SSE event of a run."""

    seq: int
    event: str
    data: Any


class ThreadEvent(NamedTuple):
    """One stored event of a run on a thread, with its thread-wide id."""

    id: int
    run_id: str
    event: str
    data: Any


def run_from_row(db: RawDB, row: dict[str, Any]) -> Run:
    values = dict(row)
    for key in _RUN_JSON:
        values[key] = db.loads(values[key])
    for key in _RUN_TS:
        values[key] = db.to_dt(values[key])
    values["meta"] = values.pop("metadata") or {}
    return Run(**values)


def thread_from_row(db: RawDB, row: dict[str, Any]) -> Thread:
    values = dict(row)
    for key in ("metadata", "values", "interrupts"):
        values[key] = db.loads(values[key])
    for key in ("created_at", "updated_at"):
        values[key] = db.to_dt(values[key])
    values["meta"] = values.pop("metadata") or {}
    return Thread(**values)


# -- threads ----------------------------------------------------------------------------------
INSERT_THREAD = Sql(
    "INSERT INTO threads (thread_id, tenant, status, metadata, created_at, updated_at) "
    "VALUES (:thread_id, :tenant, 'idle', :metadata, :now, :now) "
    "ON CONFLICT (thread_id) DO NOTHING"
)
GET_THREAD = Sql("SELECT * FROM threads WHERE thread_id = :thread_id")
THREAD_STATE = Sql("SELECT status, metadata FROM threads WHERE thread_id = :thread_id")
# The run's assistant as the tenant sees it: the current version's graph and configuration.
_ASSISTANT = (
    "a.graph_id AS a_graph, a.version AS a_version, a.config AS a_config, a.context AS a_context"
)
ASSISTANT_FOR_RUN = Sql(
    f"SELECT {_ASSISTANT} FROM assistants a "
    "WHERE a.assistant_id = :assistant_id AND a.tenant IN (:tenant, '*')"
)
# PostgreSQL: the thread, its active runs (oldest first), whether any run waits, and the run's
# assistant, at once (one row even when the thread or the assistant does not exist).
THREAD_STATE_PG = Sql.postgres_only(
    "SELECT t.status, t.metadata, ARRAY(SELECT r.run_id FROM runs r "
    "WHERE r.thread_id = t.thread_id AND r.status IN ('pending', 'running') "
    "ORDER BY r.created_at) AS active, "
    "EXISTS (SELECT 1 FROM runs q WHERE q.status = 'pending') AS queued, "
    f"{_ASSISTANT} FROM (SELECT 1) AS one "
    "LEFT JOIN threads t ON t.thread_id = :thread_id "
    "LEFT JOIN assistants a ON a.assistant_id = :assistant_id AND a.tenant IN (:tenant, '*')"
)
FLIP_THREAD = Sql(
    "UPDATE threads SET status = 'busy', metadata = :metadata, updated_at = :now "
    "WHERE thread_id = :thread_id AND status = :was"
)
SETTLE_THREAD = Sql(
    'UPDATE threads SET status = :status, "values" = :values, interrupts = :interrupts, '
    "updated_at = :now WHERE thread_id = :thread_id"
)
# Another run of the thread waits for the one that just ended: the thread stays busy.
WAITING_RUN = Sql(
    "SELECT run_id FROM runs WHERE thread_id = :thread_id AND status = 'pending' "
    "AND run_id <> :run_id LIMIT 1"
)
THREAD_BUSY = Sql(
    "UPDATE threads SET status = 'busy', updated_at = :now WHERE thread_id = :thread_id"
)

# -- runs -------------------------------------------------------------------------------------
_INSERT_RUN = (
    "INSERT INTO runs (run_id, thread_id, assistant_id, graph_id, assistant_version, tenant, "
    "status, input, command, config, kwargs, metadata, multitask_strategy, attempt, "
    "input_tokens, output_tokens, usd, created_at, updated_at) VALUES (:run_id, :thread_id, "
    ":assistant_id, :graph_id, :assistant_version, :tenant, 'pending', :input, :command, "
    ":config, :kwargs, :metadata, :multitask_strategy, 0, 0, 0, 0, :now, :now)"
)
INSERT_RUN = Sql(_INSERT_RUN)
# PostgreSQL: the new run and the claimers' wake-up in one round trip.
INSERT_RUN_AND_NOTIFY = Sql.postgres_only(
    f"WITH created AS ({_INSERT_RUN} RETURNING 1) SELECT pg_notify(:channel, :keys) FROM created"
)
# A run created straight into a free in-process worker slot: no claim round, same lease rules.
INSERT_RUNNING_RUN = Sql(
    "INSERT INTO runs (run_id, thread_id, assistant_id, graph_id, assistant_version, tenant, "
    "status, input, command, config, kwargs, metadata, multitask_strategy, attempt, "
    "input_tokens, output_tokens, usd, lease_owner, lease_expires_at, heartbeat_at, started_at, "
    "created_at, updated_at) VALUES (:run_id, :thread_id, :assistant_id, :graph_id, "
    ":assistant_version, :tenant, 'running', :input, :command, :config, :kwargs, :metadata, "
    ":multitask_strategy, 1, 0, 0, 0, :owner, :lease, :now, :now, :now, :now)"
)
ANY_PENDING = Sql("SELECT run_id FROM runs WHERE status = 'pending' LIMIT 1")
GET_RUN = Sql("SELECT * FROM runs WHERE run_id = :run_id")
ACTIVE_RUNS = Sql(
    "SELECT run_id FROM runs WHERE thread_id = :thread_id AND status IN ('pending', 'running') "
    "ORDER BY created_at"
)
COUNT_PENDING = Sql("SELECT count(*) AS n FROM runs WHERE status = 'pending'")
_NEXT_CLAIMABLE = (
    "SELECT r.run_id FROM runs r WHERE r.status = 'pending' AND NOT EXISTS "
    "(SELECT 1 FROM runs o WHERE o.thread_id = r.thread_id AND o.status = 'running') "
    "ORDER BY r.created_at, r.run_id LIMIT 1"
)
_CLAIM = (
    "UPDATE runs SET status = 'running', lease_owner = :owner, lease_expires_at = :lease, "
    "heartbeat_at = :now, started_at = :now, updated_at = :now, attempt = attempt + 1 "
    "WHERE run_id = ({next}) AND status = 'pending' RETURNING *"
)
# The oldest claimable run, taken in one statement. PostgreSQL: claimers in any number of
# processes skip each other's candidate rows; two that pick runs of one thread collide on the
# unique index of running runs per thread (migration 0006) and the loser retries.
CLAIM = Sql(
    _CLAIM.format(next=_NEXT_CLAIMABLE),
    pg=_CLAIM.format(next=_NEXT_CLAIMABLE + " FOR UPDATE OF r SKIP LOCKED"),
)
HEARTBEAT = Sql(
    "UPDATE runs SET lease_expires_at = :lease, heartbeat_at = :now, "
    "input_tokens = COALESCE(:input_tokens, input_tokens), "
    "output_tokens = COALESCE(:output_tokens, output_tokens), usd = COALESCE(:usd, usd) "
    "WHERE run_id = :run_id AND lease_owner = :owner AND status = 'running' "
    "RETURNING cancel_requested"
)
FINISH_RUN = Sql(
    "UPDATE runs SET status = :status, error = :error, output = :output, finished_at = :now, "
    "updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, "
    "input_tokens = :input_tokens, output_tokens = :output_tokens, usd = :usd "
    "WHERE run_id = :run_id"
)

# PostgreSQL: the run's end, its last events and its thread's state as one statement (the CTEs
# share one snapshot; the events and the thread are written only if the run still exists).
SETTLE_RUN = Sql.postgres_only(
    "WITH fin AS (UPDATE runs SET status = :status, error = :error, output = :output, "
    "finished_at = :now, updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, "
    "input_tokens = :input_tokens, output_tokens = :output_tokens, usd = :usd "
    "WHERE run_id = :run_id RETURNING run_id), "
    "ev AS (INSERT INTO run_events (run_id, seq, event, data, created_at) "
    "SELECT :run_id, x.seq, x.event, x.data, :now "
    "FROM json_to_recordset(:rows) AS x(seq int, event text, data json) "
    "WHERE EXISTS (SELECT 1 FROM fin)), "
    'th AS (UPDATE threads SET status = :thread_status, "values" = :values, '
    "interrupts = :interrupts, updated_at = :now "
    "WHERE thread_id = :thread_id AND EXISTS (SELECT 1 FROM fin)) "
    "SELECT count(*) AS finished FROM fin",
)
# PostgreSQL: the look for a waiting run and the run's wake-up in one round trip.
WAITING_RUN_AND_NOTIFY = Sql.postgres_only(
    "SELECT (SELECT run_id FROM runs WHERE thread_id = :thread_id AND status = 'pending' "
    "AND run_id <> :run_id LIMIT 1) AS waiting, pg_notify(:channel, :keys) AS notified",
)

# -- events -----------------------------------------------------------------------------------
INSERT_EVENT = Sql(
    "INSERT INTO run_events (run_id, seq, event, data, created_at) "
    "VALUES (:run_id, :seq, :event, :data, :now)"
)
# PostgreSQL: a batch of events as one statement (one JSON array of rows), and a batch plus its
# wake-up as one autocommit statement, atomic, notifying at its commit.
_INSERT_EVENT_ROWS = (
    "INSERT INTO run_events (run_id, seq, event, data, created_at) "
    "SELECT :run_id, x.seq, x.event, x.data, :now "
    "FROM json_to_recordset(:rows) AS x(seq int, event text, data json)"
)
INSERT_EVENT_ROWS = Sql.postgres_only(_INSERT_EVENT_ROWS)
APPEND_EVENTS_AND_NOTIFY = Sql.postgres_only(
    f"WITH stored AS ({_INSERT_EVENT_ROWS} RETURNING 1) "
    "SELECT pg_notify(:channel, :keys) FROM (SELECT 1 FROM stored LIMIT 1) AS any_row"
)
READ_EVENTS = Sql(
    "SELECT seq, event, data FROM run_events WHERE run_id = :run_id AND seq > :after "
    "ORDER BY seq LIMIT :limit"
)
MAX_SEQ = Sql("SELECT max(seq) AS seq FROM run_events WHERE run_id = :run_id")
# Every event of every run on a thread, in the order they were stored (the thread stream; its
# event ids are these row ids: runs of one thread execute one at a time, so they only grow).
READ_THREAD_EVENTS = Sql(
    "SELECT e.id, e.run_id, e.event, e.data FROM run_events e "
    "JOIN runs r ON r.run_id = e.run_id WHERE r.thread_id = :thread_id AND e.id > :after "
    "ORDER BY e.id LIMIT :limit"
)
LAST_THREAD_EVENT = Sql(
    "SELECT max(e.id) AS id FROM run_events e JOIN runs r ON r.run_id = e.run_id "
    "WHERE r.thread_id = :thread_id"
)

# -- approvals --------------------------------------------------------------------------------
PENDING_INTERRUPTS = Sql(
    "SELECT interrupt_id FROM approvals WHERE thread_id = :thread_id AND status = 'pending'"
)
INSERT_APPROVAL = Sql(
    "INSERT INTO approvals (id, run_id, thread_id, tenant, workflow, interrupt_id, status, "
    "payload, created_at) VALUES (:id, :run_id, :thread_id, :tenant, :workflow, "
    ":interrupt_id, 'pending', :payload, :now)"
)
INSERT_APPROVAL_EVENT = Sql(
    "INSERT INTO approval_events (approval_id, tenant, event, actor, arguments_before, "
    "arguments_after, at) VALUES (:approval_id, :tenant, :event, :actor, :arguments, "
    ":arguments, :now)"
)
RESOLVED_APPROVAL_EVENTS = Sql(
    "INSERT INTO approval_events (approval_id, tenant, event, actor, at) "
    "SELECT id, tenant, :event, :actor, :now FROM approvals "
    "WHERE thread_id = :thread_id AND resume_run_id = :run_id"
)
RESOLVE_APPROVALS = Sql(
    "UPDATE approvals SET status = :status, decision = :decision, decided_by = :decided_by, "
    "decided_at = :now, resume_run_id = :run_id "
    "WHERE thread_id = :thread_id AND status = 'pending'"
)

# -- wake-ups (PostgreSQL) --------------------------------------------------------------------
# One notification per transaction, its payload the space-separated wake-up keys.
NOTIFY = Sql.postgres_only("SELECT pg_notify(:channel, :keys)")
