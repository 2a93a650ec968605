"""Rows written without model instances, for the hot paths.

`Model.objects.create()` builds an instance, runs `pre_save` on every field,
compiles an INSERT and sends it: about as much CPU as the round trip itself
on the Instant path. `row_values()` gives the same columns and adapted
parameters from a plain dict (fields left out get their model default, as
`Model(**values)` would), and `insert_many()` writes rows of several tables
in one statement — one round trip, atomic without an explicit transaction.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection, models
from django.utils import timezone


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(field for field in model._meta.concrete_fields if not field.generated)


def row_values(model: type[models.Model], values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Columns and database-ready parameters of one row of `model`.

    `values` is keyed by attribute name (`workflow_id` for a foreign key).
    Unknown names raise, so a renamed field cannot be dropped silently.
    """
    unknown = set(values) - {field.attname for field in _fields(model)}
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {sorted(unknown)}")
    columns: list[str] = []
    params: list[Any] = []
    now = None
    for field in _fields(model):
        if field.attname in values:
            value = values[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            now = now or timezone.now()
            value = now
        elif isinstance(field, models.AutoField | models.BigAutoField):
            continue  # the sequence gives it
        else:
            value = field.get_default()
        columns.append(connection.ops.quote_name(field.column))
        params.append(field.get_db_prep_save(value, connection))
    return columns, params


def insert_many(rows: list[tuple[type[models.Model], dict[str, Any]]]) -> None:
    """INSERT one row into each table, in order, as one statement.

    PostgreSQL runs the data-modifying CTEs as one statement, so foreign
    keys between the rows (checked at its end) hold, and either all rows are
    written or none.
    """
    parts: list[str] = []
    params: list[Any] = []
    for model, values in rows:
        columns, row_params = row_values(model, values)
        table = connection.ops.quote_name(model._meta.db_table)
        placeholders = ", ".join(["%s"] * len(columns))
        # Table and column names come from the model, values are parameters.
        parts.append(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})")  # noqa: S608
        params.extend(row_params)
    if len(parts) == 1:
        sql = parts[0]
    else:
        ctes = ", ".join(f"r{index} AS ({part})" for index, part in enumerate(parts[:-1]))
        sql = f"WITH {ctes} {parts[-1]}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
