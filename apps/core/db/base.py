"""The database backend: django-tenants', issuing `SET search_path` only when it changes.

django-tenants forgets the search path at every tenant switch, so a request
that looks something up in the public schema and then works in an
organization's schema (every webhook, every API call after the
organization lookup, every task) pays a `SET search_path` round trip each
time it switches, even when the connection already has exactly that path
from the previous request. This backend remembers what the server has and
skips the statement when nothing would change.

What the server has is forgotten whenever it may have changed behind our
back: a rollback or a rollback to a savepoint (a `SET` is transactional), and
a closed connection.
"""

from __future__ import annotations

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        self._server_search_path: list[str] | None = None
        super().__init__(*args, **kwargs)

    def close(self) -> None:
        self._server_search_path = None
        super().close()

    def rollback(self) -> None:
        self._server_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid) -> None:
        self._server_search_path = None
        super().savepoint_rollback(sid)

    def qualified_cursor(self):
        """A cursor for statements that name every table with its schema
        (`public.core_hookroute`): it runs in whatever search path the
        connection has, so it never costs a `SET search_path`."""
        return super(TenantDatabaseWrapper, self)._cursor()

    def _handle_search_path(self, cursor=None) -> None:
        if self._setting_search_path or self.search_path_set_schemas:
            return
        if self._server_search_path is not None and self.schema_name:
            wanted = self._get_cursor_search_paths()
            if wanted == self._server_search_path:
                self.search_path_set_schemas = wanted
                return
        super()._handle_search_path(cursor)
        self._server_search_path = self.search_path_set_schemas
