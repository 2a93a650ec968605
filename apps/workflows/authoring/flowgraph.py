"""The Docs tab's flow graph: what a workflow does, from its parsed code.

`flow_graph(code, connectors=...)` parses the source with tree-sitter and
walks the default export's body statement by statement:

* TRIGGER — where a run starts (one per graph).
* PROCESS — plain statements; consecutive ones are merged into one node
  ("4 statements") so a 300-line workflow stays readable.
* DECISION — `if` (yes/no), `switch` (one edge per case), and loop headers
  (`loop: true`; the body's end goes back to the header along a `loop` edge,
  `done` leaves the loop).
* READ — connector actions whose method is GET (or HEAD/OPTIONS),
  `fastn.db.query`, `fastn.state.get`, `fastn.secrets.get`.
* WRITE — connector POST/PUT/PATCH/DELETE, `fastn.db.execute`,
  `fastn.state.set` / `delete`.
* DONE — each `return` (an early one, inside a branch, is reached by a
  `skip` edge) and the end of the function; an uncaught `throw` is a DONE with
  `outcome: "error"`.

Inside `try`, every READ/WRITE, helper call and `throw` has an `error` edge
to the `catch` node. Calls inside `Promise.all/allSettled/race/any` fork
(`parallel` edges) and join. Local helper functions that touch the runtime
API get their own sub-graph (`group`), reached by a `call` edge.

The connector's action method decides READ or WRITE; for a connector that
is not installed the action's name decides (get/list/search/… read).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tree_sitter import Node

from apps.workflows.authoring.parser import line, parse, string_value, text

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_VERBS = re.compile(r"^(get|list|search|find|fetch|read|query|lookup|retrieve|count|check|describe|download)", re.I)
PARALLEL = frozenset({"all", "allSettled", "race", "any"})
LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
FUNCTIONS = frozenset({"function_expression", "function_declaration", "arrow_function", "generator_function"})
SIMPLE = frozenset({"expression_statement", "lexical_declaration", "variable_declaration"})
LABEL_CHARS = 60
RUNTIME_OPS = {
    ("db", "query"): ("READ", "db.query"),
    ("db", "execute"): ("WRITE", "db.execute"),
    ("state", "get"): ("READ", "state.get"),
    ("state", "set"): ("WRITE", "state.set"),
    ("state", "delete"): ("WRITE", "state.delete"),
    ("secrets", "get"): ("READ", "secrets.get"),
}


@dataclass
class FlowNode:
    id: str
    kind: str
    label: str
    line: int
    end_line: int
    group: str = "main"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FlowEdge:
    source: str
    target: str
    kind: str = "next"  # next | branch | skip | error | loop | parallel | call
    label: str = ""


@dataclass
class FlowGraph:
    nodes: list[FlowNode]
    edges: list[FlowEdge]
    functions: list[str]
    errors: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
            "functions": self.functions,
            "errors": self.errors,
        }

    # Conveniences for tests and the reference docs.
    def kinds(self) -> list[str]:
        return [n.kind for n in self.nodes]

    def node(self, node_id: str) -> FlowNode:
        return next(n for n in self.nodes if n.id == node_id)

    def edges_from(self, node_id: str) -> list[FlowEdge]:
        return [e for e in self.edges if e.source == node_id]

    def edges_to(self, node_id: str) -> list[FlowEdge]:
        return [e for e in self.edges if e.target == node_id]


@dataclass
class IoCall:
    kind: str
    label: str
    line: int
    detail: dict[str, Any]


@dataclass
class Parallel:
    calls: list[Any]
    line: int


@dataclass
class HelperCall:
    name: str
    line: int


Frontier = list[tuple[str, str, str]]  # (node id, edge label, edge kind)


def short(value: str, limit: int = LABEL_CHARS) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def object_keys(node: Node | None) -> list[str]:
    """Keys of an object literal (`{a: 1, b, ...rest}` → ["a", "b", "...rest"])."""
    if node is None or node.type != "object":
        return []
    keys = []
    for child in node.named_children:
        if child.type == "pair":
            key = child.child_by_field_name("key")
            keys.append(string_value(key) or text(key))
        elif child.type == "shorthand_property_identifier":
            keys.append(text(child))
        elif child.type == "spread_element":
            keys.append("..." + short(text(child.named_children[0]) if child.named_children else "", 30))
    return keys


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def default_export(root: Node) -> Node | None:
    """The function of `export default …` (a function, an arrow, or a name declared in the module)."""
    declared: dict[str, Node] = {}
    for child in root.named_children:
        if child.type == "function_declaration":
            declared[text(child.child_by_field_name("name"))] = child
    for child in root.named_children:
        if child.type != "export_statement" or not any(c.type == "default" for c in child.children):
            continue
        value = child.child_by_field_name("declaration") or child.child_by_field_name("value")
        if value is None:
            value = next((c for c in child.named_children if c.type != "comment"), None)
        if value is not None and value.type in FUNCTIONS:
            return value
        if value is not None and value.type == "identifier":
            return declared.get(text(value))
    return None


class _Runtime:
    """Recognises runtime-API calls, following simple aliases
    (`const crm = fastn.connector['acme-crm']`, `const { db } = fastn`)."""

    def __init__(self, connectors: dict[str, dict[str, str]]) -> None:
        self.connectors = connectors
        self.connector_alias: dict[str, str] = {}  # name → connector slug
        self.namespace_alias: dict[str, str] = {"fastn": "fastn"}  # name → fastn | db | state | secrets | connector

    def learn_aliases(self, root: Node) -> None:
        for declarator in _descendants(root, "variable_declarator"):
            name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
            if value is None or name is None:
                continue
            if value.type == "await_expression" and value.named_children:
                value = value.named_children[0]
            if name.type == "identifier":
                slug = self.connector_slug(value)
                if slug:
                    self.connector_alias[text(name)] = slug
                    continue
                space = self.namespace(value)
                if space:
                    self.namespace_alias[text(name)] = space
            elif name.type == "object_pattern" and self.namespace(value) == "fastn":
                for child in name.named_children:
                    if child.type == "shorthand_property_identifier_pattern" and text(child) in (
                        "db",
                        "state",
                        "secrets",
                        "connector",
                    ):
                        self.namespace_alias[text(child)] = text(child)

    def namespace(self, node: Node) -> str | None:
        if node.type == "identifier":
            return self.namespace_alias.get(text(node))
        if node.type == "member_expression":
            obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
            if self.namespace(obj) == "fastn" and text(prop) in ("db", "state", "secrets", "connector"):
                return text(prop)
        return None

    def connector_slug(self, node: Node) -> str | None:
        """`fastn.connector['slug']` / `fastn.connector.slug` / an alias of one."""
        if node.type == "identifier":
            return self.connector_alias.get(text(node))
        if node.type == "subscript_expression":
            if self.namespace(node.child_by_field_name("object")) == "connector":
                return string_value(node.child_by_field_name("index"))
        if node.type == "member_expression":
            if self.namespace(node.child_by_field_name("object")) == "connector":
                prop = text(node.child_by_field_name("property"))
                return None if prop == "call" else prop
        return None

    def classify(self, call: Node) -> IoCall | None:
        function = call.child_by_field_name("function")
        if function is None:
            return None
        args = arguments(call)
        if function.type in ("member_expression", "subscript_expression"):
            obj = function.child_by_field_name("object")
            if function.type == "member_expression":
                member = text(function.child_by_field_name("property"))
            else:
                member = string_value(function.child_by_field_name("index")) or ""
            space = self.namespace(obj)
            if space == "connector" and member == "call" and len(args) >= 2:
                slug, action = string_value(args[0]), string_value(args[1])
                return self._connector(call, slug or "?", action or "?", args[2] if len(args) > 2 else None)
            if space in ("db", "state", "secrets") and (space, member) in RUNTIME_OPS:
                kind, op = RUNTIME_OPS[(space, member)]
                first = string_value(args[0]) if args else None
                detail: dict[str, Any] = {"op": op}
                if space == "db":
                    detail["sql"] = short(first, 200) if first else None
                    label = f"{op}: {short(first, 40)}" if first else op
                elif space == "secrets":
                    detail["name"] = first
                    label = f"secrets.get({first!r})" if first else "secrets.get(…)"
                else:
                    detail["key"] = first
                    label = f"{op}({first!r})" if first else f"{op}(…)"
                return IoCall(kind, label, line(call), detail)
            slug = self.connector_slug(obj)
            if slug:
                return self._connector(call, slug, member, args[0] if args else None)
        return None

    def _connector(self, call: Node, slug: str, action: str, params: Node | None) -> IoCall:
        method = (self.connectors.get(slug) or {}).get(action)
        guessed = method is None
        if guessed:
            kind = "READ" if READ_VERBS.match(action) else "WRITE"
        else:
            kind = "READ" if method.upper() in READ_METHODS else "WRITE"
        detail = {
            "op": "connector.call",
            "connector": slug,
            "action": action,
            "method": method,
            "method_guessed": guessed,
            "params": object_keys(params),
        }
        label = f"{slug} · {action}" + (f" ({method.upper()})" if method else "")
        return IoCall(kind, label, line(call), detail)


def _descendants(node: Node, node_type: str) -> list[Node]:
    """Every named descendant of one type (the node itself included), in source order."""
    found = []
    cursor = node.walk()
    while True:
        current = cursor.node
        if current.type == node_type:
            found.append(current)
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == node:
                return found


@dataclass
class _Scope:
    group: str
    main: bool
    loops: list[dict] = field(default_factory=list)  # {"header", "breaks", "continues", "switch"}
    tries: list[list[str]] = field(default_factory=list)  # error sources per open try


class _Builder:
    def __init__(self, runtime: _Runtime, helpers: dict[str, Node]) -> None:
        self.runtime = runtime
        self.helpers = helpers
        self.nodes: list[FlowNode] = []
        self.edges: list[FlowEdge] = []
        self.helper_entry: dict[str, str] = {}
        self._io_helpers: set[str] = set()

    # --- graph primitives ---------------------------------------------------------------

    def add(self, kind: str, label: str, start: int, end: int, scope: _Scope, **detail: Any) -> str:
        node_id = f"n{len(self.nodes) + 1}"
        self.nodes.append(FlowNode(node_id, kind, short(label), start, end, scope.group, detail))
        return node_id

    def link(self, frontier: Frontier, target: str, kind: str | None = None) -> None:
        for source, label, edge_kind in frontier:
            self.edges.append(FlowEdge(source, target, kind or edge_kind, label))

    def node(self, node_id: str) -> FlowNode:
        return self.nodes[int(node_id[1:]) - 1]

    def error_source(self, node_id: str, scope: _Scope) -> None:
        if scope.tries:
            scope.tries[-1].append(node_id)

    # --- helpers (local functions that touch the runtime API) ---------------------------

    def has_io(self, node: Node, seen: frozenset[str] = frozenset()) -> bool:
        for call in _descendants(node, "call_expression"):
            if self.runtime.classify(call) is not None:
                return True
            function = call.child_by_field_name("function")
            name = text(function) if function is not None and function.type == "identifier" else ""
            if name in self.helpers and name not in seen and self.has_io(self.helpers[name], seen | {name}):
                return True
        return False

    def build_helpers(self) -> list[str]:
        built = []
        for name, function in self.helpers.items():
            if not self.has_io(function):
                continue
            self._io_helpers.add(name)
        for name in sorted(self._io_helpers, key=lambda n: self.helpers[n].start_byte):
            function = self.helpers[name]
            scope = _Scope(group=name, main=False)
            params = text(function.child_by_field_name("parameters") or function.child_by_field_name("parameter"))
            entry = self.add("PROCESS", f"function {name}{params}", line(function), line(function), scope, entry=True)
            self.helper_entry[name] = entry
            body = function.child_by_field_name("body")
            frontier: Frontier = [(entry, "", "next")]
            if body is not None and body.type == "statement_block":
                frontier = self.block(body.named_children, frontier, scope)
            elif body is not None:  # an arrow's expression body is its return value
                frontier = self.simple(body, frontier, scope)
            if frontier:
                done = self.add(
                    "DONE",
                    f"return from {name}",
                    body.end_point[0] + 1 if body else line(function),
                    body.end_point[0] + 1 if body else line(function),
                    scope,
                    outcome="ok",
                )
                self.link(frontier, done)
            built.append(name)
        return built

    # --- statements -----------------------------------------------------------------------

    def block(self, statements: list[Node], frontier: Frontier, scope: _Scope, *, tail: bool = False) -> Frontier:
        statements = [s for s in statements if s.type not in ("comment", "empty_statement")]
        for index, statement in enumerate(statements):
            last = tail and index == len(statements) - 1
            frontier = self.statement(statement, frontier, scope, tail=last)
        return frontier

    def statement(self, node: Node, frontier: Frontier, scope: _Scope, *, tail: bool = False) -> Frontier:
        kind = node.type
        if kind == "statement_block":
            return self.block(node.named_children, frontier, scope, tail=tail)
        if kind in ("function_declaration", "generator_function_declaration", "class_declaration"):
            return frontier  # declarations: helpers are drawn on their own
        if kind in ("lexical_declaration", "variable_declaration") and self._declares_helper(node):
            return frontier
        if kind == "if_statement":
            return self.if_statement(node, frontier, scope, tail)
        if kind == "return_statement":
            return self.return_statement(node, frontier, scope, tail)
        if kind == "throw_statement":
            return self.throw_statement(node, frontier, scope)
        if kind == "try_statement":
            return self.try_statement(node, frontier, scope, tail)
        if kind == "switch_statement":
            return self.switch_statement(node, frontier, scope)
        if kind in LOOPS:
            return self.loop(node, frontier, scope)
        if kind == "break_statement":
            if scope.loops:
                scope.loops[-1]["breaks"].extend(frontier)
            return []
        if kind == "continue_statement":
            loop = next((entry for entry in reversed(scope.loops) if not entry.get("switch")), None)
            if loop is not None:
                loop["continues"].extend(frontier)
            return []
        if kind == "labeled_statement":
            body = node.child_by_field_name("body")
            return self.statement(body, frontier, scope, tail=tail) if body is not None else frontier
        if kind in ("import_statement", "export_statement"):
            declaration = node.child_by_field_name("declaration")
            return self.statement(declaration, frontier, scope) if declaration is not None else frontier
        return self.simple(node, frontier, scope)

    def _declares_helper(self, node: Node) -> bool:
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        return bool(declarators) and all(
            (d.child_by_field_name("value") is not None and d.child_by_field_name("value").type in FUNCTIONS)
            for d in declarators
        )

    def simple(self, node: Node, frontier: Frontier, scope: _Scope) -> Frontier:
        items = self.io_items(node)
        if not items:
            return self.process(node, frontier, scope)
        for item in items:
            frontier = self.emit(item, frontier, scope)
        return frontier

    def process(self, node: Node, frontier: Frontier, scope: _Scope) -> Frontier:
        start, end = line(node), node.end_point[0] + 1
        if len(frontier) == 1 and frontier[0][1:] == ("", "next"):
            previous = self.node(frontier[0][0])
            if previous.kind == "PROCESS" and "statements" in previous.detail and previous.group == scope.group:
                count = previous.detail.get("statements", 1) + 1
                previous.detail["statements"] = count
                previous.end_line = max(previous.end_line, end)
                first = previous.detail.get("first", previous.label)
                previous.detail["first"] = first
                previous.label = short(f"{first} (+{count - 1} more)")
                return frontier
        node_id = self.add("PROCESS", text(node).rstrip(";"), start, end, scope, statements=1)
        self.link(frontier, node_id)
        return [(node_id, "", "next")]

    def emit(self, item: Any, frontier: Frontier, scope: _Scope) -> Frontier:
        if isinstance(item, IoCall):
            node_id = self.add(item.kind, item.label, item.line, item.line, scope, **item.detail)
            self.link(frontier, node_id)
            self.error_source(node_id, scope)
            return [(node_id, "", "next")]
        if isinstance(item, HelperCall):
            node_id = self.add("PROCESS", f"{item.name}(…)", item.line, item.line, scope, calls=item.name)
            self.link(frontier, node_id)
            self.edges.append(FlowEdge(node_id, self.helper_entry[item.name], "call", "calls"))
            self.error_source(node_id, scope)
            return [(node_id, "", "next")]
        # Parallel: fork to every call, join after all of them.
        if len(item.calls) == 1:
            return self.emit(item.calls[0], frontier, scope)
        joined: Frontier = []
        for call in item.calls:
            branch = self.emit(call, [(src, "parallel", "parallel") for src, _, _ in frontier] or frontier, scope)
            joined.extend(branch)
        return joined

    def io_items(self, node: Node, *, repeated: bool = False) -> list[Any]:
        """Runtime-API calls (and calls of IO helpers) inside an expression, in source order."""
        source = node.text or b""
        if not any(token in source for token in self._io_tokens()):
            return []  # most statements: no name that could reach the runtime API
        items: list[Any] = []
        self._collect(node, items, repeated=repeated)
        return items

    def _io_tokens(self) -> list[bytes]:
        names = {"fastn", *self.runtime.connector_alias, *self.runtime.namespace_alias, *self._io_helpers}
        return [name.encode() for name in names]

    def _collect(self, node: Node, items: list[Any], *, repeated: bool) -> None:
        if node.type in ("function_declaration", "class_declaration"):
            return
        if node.type in FUNCTIONS:
            # A callback (items.map(async c => …)) runs once per element.
            for child in node.named_children:
                self._collect(child, items, repeated=True)
            return
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None and function.type == "member_expression":
                obj, prop = function.child_by_field_name("object"), function.child_by_field_name("property")
                if text(obj) == "Promise" and text(prop) in PARALLEL:
                    inner: list[Any] = []
                    for argument in arguments(node):
                        self._collect(argument, inner, repeated=repeated)
                    if inner:
                        items.append(Parallel(inner, line(node)))
                    return
            # Arguments are evaluated before the call itself.
            for child in node.named_children:
                self._collect(child, items, repeated=repeated)
            io = self.runtime.classify(node)
            if io is not None:
                if repeated:
                    io.detail["repeated"] = True
                    io.label = short(io.label + " (each)")
                items.append(io)
            elif function is not None and function.type == "identifier" and text(function) in self._io_helpers:
                items.append(HelperCall(text(function), line(node)))
            return
        for child in node.named_children:
            self._collect(child, items, repeated=repeated)

    def _prelude(self, expression: Node | None, frontier: Frontier, scope: _Scope) -> Frontier:
        """IO calls in a condition or loop header happen before the branch."""
        if expression is None:
            return frontier
        for item in self.io_items(expression):
            frontier = self.emit(item, frontier, scope)
        return frontier

    def if_statement(self, node: Node, frontier: Frontier, scope: _Scope, tail: bool) -> Frontier:
        condition = node.child_by_field_name("condition")
        frontier = self._prelude(condition, frontier, scope)
        label = text(condition)
        if label.startswith("(") and label.endswith(")"):
            label = label[1:-1]
        decision = self.add("DECISION", f"if {label}?", line(node), line(node), scope, condition=short(label, 200))
        self.link(frontier, decision)
        consequence = node.child_by_field_name("consequence")
        yes = self.statement(consequence, [(decision, "yes", "branch")], scope, tail=tail)
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            body = next((c for c in alternative.named_children if c.type != "comment"), None)
            no = self.statement(body, [(decision, "no", "branch")], scope, tail=tail) if body else []
        else:
            no = [(decision, "no", "branch")]
        return yes + no

    def return_statement(self, node: Node, frontier: Frontier, scope: _Scope, tail: bool) -> Frontier:
        value = next((c for c in node.named_children if c.type != "comment"), None)
        items = self.io_items(value) if value is not None else []
        for item in items:
            frontier = self.emit(item, frontier, scope)
        early = not tail
        keys = object_keys(value) if value is not None else []
        if value is None:
            label = "return"
        elif items and not keys:
            label = "return the result"
        elif keys:
            label = "return {" + ", ".join(keys) + "}"
        else:
            label = "return " + text(value)
        done = self.add(
            "DONE", label, line(node), node.end_point[0] + 1, scope, outcome="ok", early=early, output_keys=keys
        )
        self.link(frontier, done, "skip" if early and scope.main else None)
        return []

    def throw_statement(self, node: Node, frontier: Frontier, scope: _Scope) -> Frontier:
        value = next((c for c in node.named_children if c.type != "comment"), None)
        frontier = self._prelude(value, frontier, scope)
        if scope.tries:
            node_id = self.add("PROCESS", "throw " + text(value), line(node), line(node), scope, throws=True)
            self.link(frontier, node_id)
            self.error_source(node_id, scope)
            return []
        done = self.add("DONE", "throw " + text(value), line(node), line(node), scope, outcome="error")
        self.link(frontier, done, "error")
        return []

    def try_statement(self, node: Node, frontier: Frontier, scope: _Scope, tail: bool) -> Frontier:
        handler = node.child_by_field_name("handler")
        finalizer = node.child_by_field_name("finalizer")
        scope.tries.append([])
        body_end = self.statement(node.child_by_field_name("body"), frontier, scope, tail=tail and not finalizer)
        sources = scope.tries.pop()
        ends = list(body_end)
        if handler is not None:
            parameter = handler.child_by_field_name("parameter")
            catch = self.add(
                "PROCESS",
                f"catch ({text(parameter)})" if parameter else "catch",
                line(handler),
                line(handler),
                scope,
                catches=True,
            )
            for source in sources:
                self.edges.append(FlowEdge(source, catch, "error", "error"))
            if not sources:
                # Nothing in the body is known to fail: show the path anyway.
                for source, _, _ in frontier:
                    self.edges.append(FlowEdge(source, catch, "error", "error"))
            ends += self.statement(
                handler.child_by_field_name("body"), [(catch, "", "next")], scope, tail=tail and not finalizer
            )
        elif scope.tries:
            scope.tries[-1].extend(sources)  # try/finally: errors go to the enclosing catch
        if finalizer is not None:
            body = finalizer.child_by_field_name("body") or next(
                (c for c in finalizer.named_children if c.type == "statement_block"), None
            )
            if body is not None:
                entry = self.add("PROCESS", "finally", line(finalizer), line(finalizer), scope, finally_=True)
                self.link(ends, entry)
                ends = self.statement(body, [(entry, "", "next")], scope, tail=tail)
        return ends

    def switch_statement(self, node: Node, frontier: Frontier, scope: _Scope) -> Frontier:
        value = node.child_by_field_name("value")
        frontier = self._prelude(value, frontier, scope)
        decision = self.add("DECISION", f"switch {text(value)}", line(node), line(node), scope, switch=True)
        self.link(frontier, decision)
        context = {"header": decision, "breaks": [], "continues": [], "switch": True}
        scope.loops.append(context)
        body = node.child_by_field_name("body")
        fallthrough: Frontier = []
        has_default = False
        for case in body.named_children if body is not None else []:
            if case.type not in ("switch_case", "switch_default"):
                continue
            if case.type == "switch_default":
                has_default, label = True, "default"
            else:
                label = "case " + short(text(case.child_by_field_name("value")), 30)
            statements = [c for c in case.named_children if c != case.child_by_field_name("value")]
            start = [(decision, label, "branch"), *fallthrough]
            fallthrough = self.block(statements, start, scope)
        scope.loops.pop()
        exits = context["breaks"] + fallthrough
        if not has_default:
            exits.append((decision, "no match", "branch"))
        # A `continue` inside a switch belongs to the enclosing loop.
        if context["continues"] and scope.loops:
            scope.loops[-1]["continues"].extend(context["continues"])
        return exits

    def loop(self, node: Node, frontier: Frontier, scope: _Scope) -> Frontier:
        kind = node.type
        if kind == "for_in_statement":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            operator = node.child_by_field_name("operator")
            word = text(operator) if operator is not None else ("of" if " of " in text(node)[:200] else "in")
            frontier = self._prelude(right, frontier, scope)
            label = f"for each {text(left)} {word} {text(right)}"
            enter = "each"
        elif kind == "for_statement":
            condition = node.child_by_field_name("condition")
            frontier = self._prelude(node.child_by_field_name("initializer"), frontier, scope)
            label = f"for ({text(condition).rstrip(';') or 'ever'})"
            enter = "yes"
        else:
            condition = node.child_by_field_name("condition")
            label = ("while " if kind == "while_statement" else "do … while ") + text(condition)
            enter = "yes"
        header = self.add("DECISION", label, line(node), line(node), scope, loop=True)
        context = {"header": header, "breaks": [], "continues": []}
        body = node.child_by_field_name("body")
        if kind == "do_statement":
            entry = self.add("PROCESS", "do", line(node), line(node), scope, loop_entry=True)
            self.link(frontier, entry)
            scope.loops.append(context)
            end = self.statement(body, [(entry, "", "next")], scope)
            scope.loops.pop()
            self.link(end + context["continues"], header)
            self.edges.append(FlowEdge(header, entry, "loop", "again"))
        else:
            self.link(frontier, header)
            scope.loops.append(context)
            end = self.statement(body, [(header, enter, "branch")], scope) if body is not None else []
            scope.loops.pop()
            for source, label_, _ in end + context["continues"]:
                self.edges.append(FlowEdge(source, header, "loop", label_ or "next"))
        return [(header, "done", "branch"), *context["breaks"]]


def flow_graph(code: str, *, connectors: dict[str, dict[str, str]] | None = None, trigger_label: str = "Trigger"):
    """The flow graph of a workflow's source (see the module docstring).

    `connectors`: {slug: {action: HTTP method}} of the installed connectors.
    A syntax error does not stop the graph (tree-sitter recovers); it is
    listed in `errors` with its line.
    """
    tree = parse(code)
    root = tree.root_node
    runtime = _Runtime(connectors or {})
    runtime.learn_aliases(root)
    helpers = _helpers(root)
    builder = _Builder(runtime, helpers)
    main = default_export(root)
    helpers.pop(_function_name(main), None) if main is not None else None
    builder.build_helpers()
    scope = _Scope(group="main", main=True)
    start_line = line(main) if main is not None else 1
    trigger = builder.add("TRIGGER", trigger_label, start_line, start_line, scope)
    frontier: Frontier = [(trigger, "", "next")]
    module_level = [
        c
        for c in root.named_children
        if c.type not in ("function_declaration", "comment", "export_statement") and not _is_helper_declaration(c)
    ]
    frontier = builder.block(module_level, frontier, scope)
    errors = syntax_errors(root)
    if main is None:
        errors.insert(0, {"line": 1, "column": 1, "message": "No `export default` function found."})
    else:
        body = main.child_by_field_name("body")
        if body is not None and body.type == "statement_block":
            frontier = builder.block(body.named_children, frontier, scope, tail=True)
            end_line = body.end_point[0] + 1
        elif body is not None:
            frontier = builder.simple(body, frontier, scope)
            end_line = line(body)
        else:
            end_line = start_line
        if frontier:
            done = builder.add(
                "DONE", "end (returns undefined)", end_line, end_line, scope, outcome="ok", implicit=True
            )
            builder.link(frontier, done)
    # Helpers first in the node list would read oddly: the trigger leads.
    ordered = sorted(builder.nodes, key=lambda n: (n.group != "main", n.line, int(n.id[1:])))
    return FlowGraph(ordered, builder.edges, sorted(builder.helper_entry), errors)


def syntax_errors(root: Node, limit: int = 20) -> list[dict[str, Any]]:
    """Where tree-sitter had to recover: unexpected text, or a missing token."""
    found: list[dict[str, Any]] = []
    if not root.has_error:
        return found
    stack = [root]
    while stack and len(found) < limit:
        node = stack.pop()
        if node.is_missing:
            found.append({"line": line(node), "column": node.start_point[1] + 1, "message": f"Missing {node.type!r}"})
        elif node.type == "ERROR":
            found.append({"line": line(node), "column": node.start_point[1] + 1, "message": "Unexpected code"})
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return sorted(found, key=lambda e: (e["line"], e["column"]))


def _function_name(node: Node | None) -> str:
    if node is None:
        return ""
    name = node.child_by_field_name("name")
    return text(name) if name is not None else ""


def _is_helper_declaration(node: Node) -> bool:
    if node.type not in ("lexical_declaration", "variable_declaration"):
        return False
    declarators = [c for c in node.named_children if c.type == "variable_declarator"]
    return bool(declarators) and all(
        d.child_by_field_name("value") is not None and d.child_by_field_name("value").type in FUNCTIONS
        for d in declarators
    )


def _helpers(root: Node) -> dict[str, Node]:
    """Named functions anywhere in the module: declarations and `const f = (…) => …`."""
    found: dict[str, Node] = {}
    for declaration in _descendants(root, "function_declaration"):
        found.setdefault(text(declaration.child_by_field_name("name")), declaration)
    for declarator in _descendants(root, "variable_declarator"):
        value = declarator.child_by_field_name("value")
        name = declarator.child_by_field_name("name")
        if value is not None and value.type in FUNCTIONS and name is not None and name.type == "identifier":
            found.setdefault(text(name), value)
    return found
