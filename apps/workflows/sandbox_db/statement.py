"""Running one workflow statement on a sandbox connection.

Two round trips per call:

1. a simple-protocol reset of the session — the parts of DISCARD ALL that
   may run in a transaction block (DISCARD ALL itself may not share a
   message with SET) — and `SET statement_timeout` to the time the
   execution has left;
2. the statement alone, with the extended protocol, which the server itself
   refuses to run with more than one command in it, in single-row mode so
   that the row and byte caps stop the transfer instead of buffering
   everything first. The connection is in autocommit mode: the statement is
   its own transaction.

Every wait on the socket also has a client-side limit (the deadline plus a
grace period): should the server never answer, the connection is
cancelled, closed and the call fails as a timeout.
"""

from __future__ import annotations

import logging
import time

import psycopg
from psycopg import adapt, errors, generators, pq
from psycopg._queries import PostgresRawQuery  # psycopg's $n-placeholder query, as RawCursor uses it

from .exceptions import SandboxDbError
from .pool import PooledConnection

logger = logging.getLogger(__name__)

MIN_TIMEOUT_MS = 5
CLIENT_GRACE_SECONDS = 1.0
_RESET = (
    b"RESET ALL; DEALLOCATE ALL; CLOSE ALL; UNLISTEN *; DISCARD TEMP; DISCARD SEQUENCES; SET statement_timeout = %d"
)
_TIMEOUT_MESSAGE = "The statement ran past the execution's time limit and was cancelled."

ExecStatus = pq.ExecStatus


class _ClientTimeout(Exception):
    pass


def run_statement(
    pooled: PooledConnection,
    sql: str,
    params: list,
    *,
    deadline: float,
    want_rows: bool,
    max_rows: int,
    max_bytes: int,
) -> tuple[list[dict], int]:
    """(rows, row count) of one statement; rows only when `want_rows`."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SandboxDbError(_TIMEOUT_MESSAGE, "statement_timeout")
    timeout_ms = max(MIN_TIMEOUT_MS, int(remaining * 1000))
    conn = pooled.conn
    client_deadline = deadline + CLIENT_GRACE_SECONDS
    try:
        with conn.lock:
            _reset(conn, timeout_ms, client_deadline)
            return _execute(conn, sql, params, client_deadline, want_rows, max_rows, max_bytes)
    except _ClientTimeout:
        pooled.reusable = False
        _abandon(conn)
        raise SandboxDbError(_TIMEOUT_MESSAGE, "statement_timeout") from None
    except psycopg.OperationalError:
        pooled.reusable = False
        _abandon(conn)
        raise SandboxDbError("The connection to the workflow database was lost.", "database_unavailable") from None
    except SandboxDbError:
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            pooled.reusable = False
        raise


def _wait(conn: psycopg.Connection, gen, client_deadline: float):
    try:
        return conn.wait(gen, timeout=max(0.0, client_deadline - time.monotonic()))
    except errors._WaitTimeout:  # psycopg's own exception for an expired wait
        raise _ClientTimeout() from None


def _reset(conn: psycopg.Connection, timeout_ms: int, client_deadline: float) -> None:
    pgconn = conn.pgconn
    pgconn.send_query(_RESET % timeout_ms)
    for result in _wait(conn, generators.execute(pgconn), client_deadline):
        if result.status == ExecStatus.FATAL_ERROR:
            raise _database_error(errors.error_from_result(result, encoding=conn.info.encoding))


def _execute(conn, sql, params, client_deadline, want_rows, max_rows, max_bytes) -> tuple[list[dict], int]:
    pgconn = conn.pgconn
    transformer = adapt.Transformer(conn)
    query = PostgresRawQuery(transformer)
    try:
        query.convert(sql, params)
    except (psycopg.DataError, psycopg.ProgrammingError, TypeError) as exc:
        raise SandboxDbError(f"The parameters cannot be sent: {exc}", "invalid_params") from None
    pgconn.send_query_params(
        query.query, query.params, param_formats=query.formats, param_types=query.types, result_format=pq.Format.TEXT
    )
    pgconn.set_single_row_mode()
    _wait(conn, generators.send(pgconn), client_deadline)

    rows: list[dict] = []
    names: list[str] = []
    count = 0
    size = 0
    overflow: str | None = None
    final = None
    failure = None
    while True:
        result = _wait(conn, generators.fetch(pgconn), client_deadline)
        if result is None:
            break
        status = result.status
        if status == ExecStatus.SINGLE_TUPLE:
            count += 1
            if overflow or not want_rows:
                continue
            if count == 1:
                transformer.set_pgresult(result, set_loaders=True)
                names = [result.fname(i).decode() for i in range(result.nfields)]
            else:
                transformer.set_pgresult(result, set_loaders=False)
            size += sum(len(result.get_value(0, i) or b"") for i in range(result.nfields))
            if count > max_rows:
                overflow = "too_many_rows"
            elif size > max_bytes:
                overflow = "result_too_large"
            if overflow:
                rows.clear()
                _cancel(conn)
                continue
            rows.append(dict(zip(names, transformer.load_row(0, tuple), strict=True)))
        elif status in (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK):
            final = result
        elif status == ExecStatus.FATAL_ERROR:
            failure = result
        else:
            # COPY and the like: refused by the policy, so never expected here.
            raise psycopg.OperationalError(f"unexpected result status {status}")

    if overflow:
        completed = failure is None
        raise _overflow_error(overflow, max_rows, max_bytes, completed)
    if failure is not None:
        raise _database_error(errors.error_from_result(failure, encoding=conn.info.encoding))
    row_count = final.command_tuples if final is not None and final.command_tuples is not None else count
    return rows, row_count


def _cancel(conn: psycopg.Connection) -> None:
    try:
        conn.cancel_safe(timeout=2.0)
    except Exception:  # noqa: BLE001 - the statement then just runs to its end, results discarded
        logger.debug("cancelling a sandbox statement failed", exc_info=True)


def _abandon(conn: psycopg.Connection) -> None:
    _cancel(conn)
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - the connection is being thrown away
        logger.debug("closing a sandbox connection failed", exc_info=True)


def _overflow_error(kind: str, max_rows: int, max_bytes: int, completed: bool) -> SandboxDbError:
    limit = f"more than {max_rows:,} rows" if kind == "too_many_rows" else f"more than {max_bytes // 1_048_576} MB"
    outcome = (
        "The statement had already completed, so any changes it made were saved."
        if completed
        else "The statement was stopped and rolled back."
    )
    return SandboxDbError(
        f"The result has {limit}, the most fastn.db.query returns. {outcome} "
        "Add LIMIT (and page with a key), or select fewer columns.",
        kind,
    )


def _database_error(exc: psycopg.Error) -> SandboxDbError:
    diag = exc.diag
    state = diag.sqlstate or "XX000"
    primary = diag.message_primary or "The database refused the statement."
    if state == "57014" and "statement timeout" in primary:
        return SandboxDbError(_TIMEOUT_MESSAGE, "statement_timeout")
    message = primary
    if diag.message_detail:
        message += f" ({diag.message_detail})"
    if diag.message_hint:
        message += f" Hint: {diag.message_hint}"
    return SandboxDbError(message, state)
