"""What workflow SQL may say: one statement of an allowed kind, nothing else.

This is the second line of defence. The first is the session itself: the
statement runs logged in as a role that owns nothing but its tables, so even
a statement this module let through cannot read platform tables, another
customer's schema, or become another role (see roles.py and hardening.py).

This module parses the statement with PostgreSQL's own parser (libpg_query,
through pglast) and refuses:

- more than one statement, and statement kinds outside a short list (data
  statements, tables/indexes/views/sequences/types, EXPLAIN): no transaction
  control (each call is its own transaction), SET/RESET/SHOW, COPY, LISTEN/
  NOTIFY, DO, functions, procedures, triggers, rules, GRANT/REVOKE, roles,
  schemas, extensions, PREPARE, cursors, VACUUM, LOCK ...;
- temporary tables and explicit tablespaces;
- relations outside the caller's schema, except a few information_schema
  views (which show only the caller's own objects) and time-zone lists;
- the reg* types (`16384::regclass` prints any table's qualified name) and
  functions that turn object ids into names, read statistics, or run SQL
  given as a string (query_to_xml, ts_stat) — the things catalog privileges
  alone cannot take away, because the information_schema views we keep call
  some of them.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from pglast.parser import ParseError, parse_sql_json

from .exceptions import SandboxDbError

# Statement kinds a workflow may run, each with whether it can change data or
# size (refused when the schema is over its storage cap).
_ALLOWED_STATEMENTS = {
    "SelectStmt": False,
    "InsertStmt": True,
    "UpdateStmt": True,
    "DeleteStmt": False,
    "MergeStmt": True,
    "ExplainStmt": False,
    "CreateStmt": True,
    "CreateTableAsStmt": True,
    "ViewStmt": True,
    "IndexStmt": True,
    "AlterTableStmt": True,
    "RenameStmt": False,
    "DropStmt": False,
    "TruncateStmt": False,
    "CreateSeqStmt": True,
    "AlterSeqStmt": False,
    "CreateEnumStmt": True,
    "AlterEnumStmt": True,
    "CompositeTypeStmt": True,
    "CreateDomainStmt": True,
    "RefreshMatViewStmt": True,
}

# Friendly names for refusals of common kinds, with why.
_REFUSED_STATEMENTS = {
    "TransactionStmt": "Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) is not available: "
    "each fastn.db call runs in a transaction of its own.",
    "VariableSetStmt": "SET and RESET are not available: the session is configured by Fastn.",
    "VariableShowStmt": "SHOW is not available to workflow SQL.",
    "CopyStmt": "COPY is not available: use INSERT with parameters, or SELECT.",
    "ListenStmt": "LISTEN is not available to workflow SQL.",
    "UnlistenStmt": "UNLISTEN is not available to workflow SQL.",
    "NotifyStmt": "NOTIFY is not available to workflow SQL.",
    "DoStmt": "DO blocks are not available: write the logic in the workflow's JavaScript.",
    "CreateFunctionStmt": "Functions and procedures cannot be created: write the logic in the workflow's JavaScript.",
    "CallStmt": "CALL is not available to workflow SQL.",
    "CreateTrigStmt": "Triggers cannot be created in workflow SQL.",
    "GrantStmt": "GRANT and REVOKE are not available: your tables are yours alone.",
    "GrantRoleStmt": "Role membership cannot be changed from workflow SQL.",
    "CreateExtensionStmt": "Extensions cannot be created from workflow SQL.",
    "CreateSchemaStmt": "Schemas cannot be created: each customer has exactly one.",
    "PrepareStmt": "PREPARE is not available: pass parameters with $1, $2 ...",
    "ExecuteStmt": "EXECUTE is not available: pass parameters with $1, $2 ...",
    "DeallocateStmt": "DEALLOCATE is not available to workflow SQL.",
    "DeclareCursorStmt": "Cursors are not available: page with LIMIT and a key.",
    "FetchStmt": "Cursors are not available: page with LIMIT and a key.",
    "ClosePortalStmt": "Cursors are not available: page with LIMIT and a key.",
    "LockStmt": "LOCK is not available: each call runs in its own transaction.",
    "VacuumStmt": "VACUUM and ANALYZE are run by the database itself.",
    "DiscardStmt": "DISCARD is not available to workflow SQL.",
}

_ALLOWED_DROP_TYPES = {
    "OBJECT_TABLE",
    "OBJECT_INDEX",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_SEQUENCE",
    "OBJECT_TYPE",
    "OBJECT_DOMAIN",
}
_ALLOWED_RENAME_TYPES = _ALLOWED_DROP_TYPES | {
    "OBJECT_COLUMN",
    "OBJECT_TABCONSTRAINT",
    "OBJECT_DOMCONSTRAINT",
    "OBJECT_ATTRIBUTE",
}
_REFUSED_ALTER_TABLE = {
    "AT_ChangeOwner": "Owners cannot be changed from workflow SQL.",
    "AT_SetTableSpace": "Tablespaces are managed by Fastn.",
}

# information_schema views that filter by the current role and show nothing of
# other schemas once hardening.py has run; the rest are revoked there too.
INFORMATION_SCHEMA_VIEWS = frozenset(
    {
        "tables",
        "columns",
        "schemata",
        "sequences",
        "table_constraints",
        "key_column_usage",
        "constraint_column_usage",
        "constraint_table_usage",
        "referential_constraints",
        "information_schema_catalog_name",
    }
)
# pg_catalog relations that reveal nothing about anyone.
CATALOG_RELATIONS = frozenset({"pg_timezone_names", "pg_timezone_abbrevs"})

# Functions turning object ids into names or definitions, reading other
# objects' statistics or sizes, taking locks or sending signals beyond the
# schema, running SQL passed as text, or changing settings. hardening.py also
# revokes EXECUTE on those the kept information_schema views do not need.
_DENIED_FUNCTIONS = frozenset(
    {
        "set_config",
        "format_type",
        "obj_description",
        "col_description",
        "shobj_description",
        "query_to_xml",
        "query_to_xmlschema",
        "query_to_xml_and_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "table_to_xmlschema",
        "table_to_xml_and_xmlschema",
        "schema_to_xml",
        "schema_to_xmlschema",
        "schema_to_xml_and_xmlschema",
        "database_to_xml",
        "database_to_xmlschema",
        "database_to_xml_and_xmlschema",
        "ts_stat",
        "ts_rewrite",
        "loread",
        "lowrite",
        "brin_summarize_range",
        "brin_summarize_new_values",
        "brin_desummarize_range",
        "gin_clean_pending_list",
    }
)
_DENIED_FUNCTION_PREFIXES = ("pg_", "has_", "to_reg", "lo_", "dblink")
# pg_* functions that reveal nothing beyond the caller's own values or session.
_ALLOWED_PG_FUNCTIONS = frozenset(
    {
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_typeof",
        "pg_column_size",
        "pg_size_pretty",
        "pg_size_bytes",
        "pg_backend_pid",
        "pg_trigger_depth",
        "pg_client_encoding",
        "pg_get_serial_sequence",
        "pg_input_is_valid",
        "pg_input_error_info",
        "pg_is_in_recovery",
        "pg_jit_available",
    }
)
# Sequence functions take a regclass: an integer argument would be turned into
# any relation's id (and an error naming it), so only a literal name is taken.
_SEQUENCE_FUNCTIONS = frozenset({"nextval", "currval", "setval"})
# Types whose values print object names: `16384::regclass` -> "schema.table".
_REG_TYPE = re.compile(r"^reg(class|collation|config|dictionary|namespace|oper|operator|proc|procedure|role|type)$")
_MAX_SQL_CHARS = 1_000_000


@dataclass(frozen=True)
class StatementInfo:
    kind: str  # the parser's node name, e.g. "SelectStmt"
    writes: bool  # may grow the schema: refused when over the storage cap


def statement_check(sql: str, schema: str) -> StatementInfo:
    """Refuse `sql` unless it is one statement workflow SQL may run in `schema`."""
    if not isinstance(sql, str):
        raise SandboxDbError("sql must be a string.", "invalid_params")
    if len(sql) > _MAX_SQL_CHARS:
        raise SandboxDbError(f"The statement is longer than {_MAX_SQL_CHARS:,} characters.", "forbidden_statement")
    return _check_cached(sql, schema)


@functools.lru_cache(maxsize=1024)
def _check_cached(sql: str, schema: str) -> StatementInfo:
    try:
        parsed = json.loads(parse_sql_json(sql))
    except ParseError as exc:
        raise SandboxDbError(str(exc.args[0]) if exc.args else "syntax error", "42601") from None
    statements = parsed.get("stmts") or []
    if not statements:
        raise SandboxDbError("The statement is empty.", "forbidden_statement")
    if len(statements) > 1:
        raise SandboxDbError(
            "Only one statement per call: run each statement with its own fastn.db call.", "forbidden_statement"
        )
    ((kind, body),) = statements[0]["stmt"].items()
    _check_statement(kind, body, schema)
    _Walker(schema).walk(body)
    return StatementInfo(kind=kind, writes=_ALLOWED_STATEMENTS[kind])


def _forbid(message: str):
    raise SandboxDbError(message, "forbidden_statement")


def _check_statement(kind: str, body: dict, schema: str) -> None:
    if kind not in _ALLOWED_STATEMENTS:
        _forbid(_REFUSED_STATEMENTS.get(kind) or f"This kind of statement ({_kind_label(kind)}) is not available.")
    if kind == "ExplainStmt":
        ((inner, inner_body),) = body["query"].items()
        if inner not in {"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CreateTableAsStmt"}:
            _forbid(f"EXPLAIN of {_kind_label(inner)} is not available.")
        _check_statement(inner, inner_body, schema)
    elif kind == "CreateStmt" and body.get("tablespacename"):
        _forbid("Tablespaces are managed by Fastn.")
    elif kind == "CreateTableAsStmt" and (body.get("into") or {}).get("tableSpaceName"):
        _forbid("Tablespaces are managed by Fastn.")
    elif kind == "IndexStmt" and body.get("tableSpace"):
        _forbid("Tablespaces are managed by Fastn.")
    elif kind == "AlterTableStmt":
        for cmd in body.get("cmds") or []:
            subtype = cmd.get("AlterTableCmd", {}).get("subtype")
            if subtype in _REFUSED_ALTER_TABLE:
                _forbid(_REFUSED_ALTER_TABLE[subtype])
    elif kind == "DropStmt":
        if body.get("removeType") not in _ALLOWED_DROP_TYPES:
            _forbid("Only tables, indexes, views, sequences and types can be dropped.")
        for obj in body.get("objects") or []:
            _check_qualified(_names(obj), schema, "object")
    elif kind == "RenameStmt":
        if body.get("renameType") not in _ALLOWED_RENAME_TYPES:
            _forbid("Only tables, columns, indexes, views, sequences, types and constraints can be renamed.")
        if body.get("object"):
            _check_qualified(_names(body["object"]), schema, "object")
    elif kind in {"CreateEnumStmt", "AlterEnumStmt"}:
        _check_qualified(_names(body.get("typeName")), schema, "type")
    elif kind == "CreateDomainStmt":
        _check_qualified(_names(body.get("domainname")), schema, "type")


def _kind_label(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.removesuffix("Stmt")).upper()


def _names(node) -> list[str]:
    """The strings of a qualified name, given as a List node or a plain list."""
    if isinstance(node, dict) and "List" in node:
        node = node["List"].get("items") or []
    if isinstance(node, dict) and "TypeName" in node:
        node = node["TypeName"].get("names") or []
    if not isinstance(node, list):
        return []
    return [item["String"]["sval"] for item in node if isinstance(item, dict) and "String" in item]


def _check_qualified(names: list[str], schema: str, what: str) -> None:
    if len(names) > 1 and names[-2] not in {schema, "pg_catalog"}:
        _forbid(f"Only your own {what}s can be used: {'.'.join(names)} is not one of them.")
    if len(names) > 2:
        _forbid(f"Names of other databases cannot be used ({'.'.join(names)}).")


class _Walker:
    """Visits every node of the parse tree and refuses what the policy forbids."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    def walk(self, node) -> None:
        # pglast's JSON wraps nodes held in generic fields ({"FuncCall": {...}})
        # but not those in typed fields (CreateStmt.relation is a bare RangeVar),
        # so relations and type names are recognised by their shape.
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if "relname" in item:
                    self.range_var(item)
                elif "names" in item and "typemod" in item:
                    self.type_name(item)
                for key, value in item.items():
                    check = _NODE_CHECKS.get(key)
                    if check is not None and isinstance(value, dict):
                        check(self, value)
                    if isinstance(value, dict | list):
                        stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)

    def range_var(self, node: dict) -> None:
        relname = node.get("relname", "")
        schemaname = node.get("schemaname")
        if node.get("catalogname"):
            _forbid("Names of other databases cannot be used.")
        if node.get("relpersistence") == "t":
            _forbid("Temporary tables are not available: create a table and drop it when done.")
        if schemaname is None or schemaname == self.schema:
            if schemaname is None and relname.startswith("pg_") and relname not in CATALOG_RELATIONS:
                _forbid(
                    f"System catalogs ({relname}) are not available to workflow SQL: "
                    "use information_schema.tables and information_schema.columns for your own tables."
                )
            return
        if schemaname == "information_schema" and relname in INFORMATION_SCHEMA_VIEWS:
            return
        if schemaname == "pg_catalog" and relname in CATALOG_RELATIONS:
            return
        if schemaname in {"information_schema", "pg_catalog"}:
            _forbid(
                f"{schemaname}.{relname} is not available to workflow SQL: "
                "information_schema.tables and information_schema.columns list your own tables."
            )
        _forbid(f"Only your own tables can be used: {schemaname}.{relname} is not one of them.")

    def func_call(self, node: dict) -> None:
        names = _names(node.get("funcname"))
        if not names:
            return
        name = names[-1]
        if len(names) > 1 and names[-2] not in {"pg_catalog", self.schema}:
            _forbid(f"Only built-in functions can be called: {'.'.join(names)} is not one.")
        if (
            name in _DENIED_FUNCTIONS
            or _REG_TYPE.match(name)
            or (name.startswith(_DENIED_FUNCTION_PREFIXES) and name not in _ALLOWED_PG_FUNCTIONS)
        ):
            _forbid(f"The function {name}() is not available to workflow SQL.")
        if name in _SEQUENCE_FUNCTIONS:
            args = node.get("args") or []
            if not args or "A_Const" not in args[0] or "sval" not in args[0]["A_Const"]:
                _forbid(f"{name}() takes the sequence's name as a string literal, e.g. {name}('orders_id_seq').")

    def type_name(self, node: dict) -> None:
        names = _names(node.get("names"))
        if not names:
            return
        if _REG_TYPE.match(names[-1]):
            _forbid(f"The type {names[-1]} is not available to workflow SQL.")
        if len(names) > 1 and names[-2] not in {"pg_catalog", "information_schema", self.schema}:
            _forbid(f"Only your own types can be used: {'.'.join(names)} is not one of them.")

    def operator(self, node: dict) -> None:
        names = _names(node.get("name"))
        if len(names) > 1 and names[-2] != "pg_catalog":
            _forbid(f"Only built-in operators can be used: {'.'.join(names)} is not one.")


_NODE_CHECKS = {
    "FuncCall": _Walker.func_call,
    "A_Expr": _Walker.operator,
}
