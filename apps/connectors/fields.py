"""A JSON field that keeps documents exactly as they were written."""

from __future__ import annotations

from django.db import models
from psycopg.types.json import Json


class OrderedJSONField(models.JSONField):
    """JSON stored as PostgreSQL `json`, not `jsonb`.

    `jsonb` sorts object keys (shortest first), so a connector definition read
    back would list its fields and actions in an order nobody wrote. `json`
    keeps the text, and psycopg parses it into dicts in document order.
    Nothing queries inside definitions, so jsonb's operators are not missed.
    """

    def db_type(self, connection) -> str:
        return "json"

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        return Json(value)

    def from_db_value(self, value, expression, connection):
        # psycopg has parsed `json` already (jsonb arrives as text, for Django to parse).
        if isinstance(value, str):
            return super().from_db_value(value, expression, connection)
        return value
