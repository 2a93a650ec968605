"""The one error `fastn.db` raises: what the workflow sees as a rejected promise."""

from __future__ import annotations


class SandboxDbError(Exception):
    """A `fastn.db` call failed.

    `code` is the PostgreSQL SQLSTATE when the server refused the statement
    (`42P01` undefined table, `23505` unique violation, `42501` permission
    denied, ...) or one of Fastn's own codes:

    - `forbidden_statement`: the statement kind, function or relation is not
      available to workflow SQL (transaction control, SET, COPY, catalogs, ...).
    - `statement_timeout`: the execution's time budget ran out.
    - `too_many_rows` / `result_too_large`: the result passed the row or byte cap.
    - `storage_quota_exceeded`: the schema is over its size cap (reads,
      deletes, TRUNCATE and DROP still work).
    - `invalid_params`: `params` is not a list of JSON values PostgreSQL can take.
    - `too_many_connections`: this customer already has the most concurrent
      database sessions allowed (retryable).
    - `database_unavailable`: the database could not be reached (retryable).

    Messages never carry credentials, role passwords or other customers'
    names: they are the server's message about the workflow's own statement,
    or a sentence of ours.
    """

    retryable_codes = frozenset({"statement_timeout", "too_many_connections", "database_unavailable", "40001", "40P01"})

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def retryable(self) -> bool:
        return self.code in self.retryable_codes

    def as_error_dict(self) -> dict:
        """The JSON the runtime turns into the workflow's Error."""
        return {"message": self.message, "name": "DatabaseError", "code": self.code}

    def __repr__(self) -> str:
        return f"SandboxDbError(code={self.code!r}, message={self.message!r})"
