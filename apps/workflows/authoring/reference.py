"""The Docs tab's reference: generated documentation of one workflow.

From the parsed code: the `ctx.input` paths it reads (and `ctx.headers`,
`ctx.config`), the connector actions it calls with their parameters, what it
returns, the secrets it reads (names only), the state keys and SQL it uses.
From the workflow: tier, timeout, retry policy, and the triggers that start
it. `reference_markdown` renders the same as a Markdown file.
"""

from __future__ import annotations

from typing import Any

from tree_sitter import Node

from apps.workflows.authoring.flowgraph import FlowGraph, _descendants, default_export, flow_graph, short
from apps.workflows.authoring.parser import parse, string_value, text

IGNORED_TAILS = frozenset({"length", "map", "filter", "forEach", "reduce", "find", "some", "every", "includes"})


def _chain(node: Node) -> list[str] | None:
    """`a.b['c'].d` → ["a", "b", "c", "d"]; None when a part is computed."""
    parts: list[str] = []
    current = node
    while True:
        if current.type == "member_expression":
            parts.append(text(current.child_by_field_name("property")))
            current = current.child_by_field_name("object")
        elif current.type == "subscript_expression":
            key = string_value(current.child_by_field_name("index"))
            if key is None:
                parts.clear()  # a computed key: keep what comes before it
            else:
                parts.append(key)
            current = current.child_by_field_name("object")
        elif current.type == "identifier":
            parts.append(text(current))
            return list(reversed(parts))
        else:
            return None


def _ctx_aliases(main: Node | None, root: Node) -> dict[str, str]:
    """Names standing for ctx parts: {"ctx": "", "input": "input", "email": "input.email", …}."""
    aliases: dict[str, str] = {}
    if main is None:
        return aliases
    parameters = main.child_by_field_name("parameters") or main.child_by_field_name("parameter")
    first = None
    if parameters is not None:
        first = parameters if parameters.type == "identifier" else next(iter(parameters.named_children), None)
    if first is not None and first.type == "identifier":
        aliases[text(first)] = ""
    elif first is not None and first.type == "object_pattern":
        _learn_pattern(first, "", aliases)
    for declarator in _descendants(root, "variable_declarator"):
        name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
        if name is None or value is None:
            continue
        path = _ctx_path(value, aliases)
        if path is None:
            continue
        if name.type == "identifier":
            aliases[text(name)] = path
        elif name.type == "object_pattern":
            _learn_pattern(name, path, aliases)
    return aliases


def _learn_pattern(pattern: Node, base: str, aliases: dict[str, str]) -> None:
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            aliases[text(child)] = f"{base}.{text(child)}".lstrip(".")
        elif child.type == "pair_pattern":
            key = child.child_by_field_name("key")
            value = child.child_by_field_name("value")
            key_text = string_value(key) or text(key)
            if value is not None and value.type == "identifier":
                aliases[text(value)] = f"{base}.{key_text}".lstrip(".")
            elif value is not None and value.type == "object_pattern":
                _learn_pattern(value, f"{base}.{key_text}".lstrip("."), aliases)
        elif child.type == "object_assignment_pattern":
            left = child.child_by_field_name("left")
            if left is not None and left.type == "shorthand_property_identifier_pattern":
                aliases[text(left)] = f"{base}.{text(left)}".lstrip(".")


def _ctx_path(node: Node, aliases: dict[str, str]) -> str | None:
    chain = _chain(node)
    if not chain or chain[0] not in aliases:
        return None
    return ".".join([p for p in [aliases[chain[0]], *chain[1:]] if p])


def ctx_paths(code: str) -> dict[str, list[str]]:
    """{"input": [...], "headers": [...], "config": [...], "customer": [...]}: the ctx paths read."""
    root = parse(code).root_node
    main = default_export(root)
    aliases = _ctx_aliases(main, root)
    found: dict[str, set[str]] = {"input": set(), "headers": set(), "config": set(), "customer": set()}
    for kind in ("member_expression", "subscript_expression"):
        for node in _descendants(root, kind):
            parent = node.parent
            if parent is not None and parent.type in ("member_expression", "subscript_expression"):
                if parent.child_by_field_name("object") == node:
                    continue  # only the longest chain counts
            path = _ctx_path(node, aliases)
            if not path:
                continue
            parts = path.split(".")
            if parent is not None and parent.type == "call_expression" and len(parts) > 2:
                parts = parts[:-1]  # input.items.map(…) reads input.items
            while len(parts) > 2 and parts[-1] in IGNORED_TAILS:
                parts = parts[:-1]
            if parts[0] in found and len(parts) > 1:
                found[parts[0]].add(".".join(parts[1:]))
    for path in aliases.values():
        parts = path.split(".") if path else []
        if len(parts) > 1 and parts[0] in found:  # destructured: read
            found[parts[0]].add(".".join(parts[1:]))
    return {key: sorted(_prune(values)) for key, values in found.items()}


def _prune(paths: set[str]) -> set[str]:
    """Drop a path when a longer one under it is listed (`a` when `a.b` is)."""
    return {p for p in paths if not any(other.startswith(p + ".") for other in paths)}


def workflow_reference(
    *,
    code: str,
    connectors: dict[str, dict[str, Any]] | None = None,
    workflow: dict[str, Any],
    triggers: list[dict[str, Any]] | None = None,
    graph: FlowGraph | None = None,
) -> dict[str, Any]:
    """Everything the Reference panel shows.

    `connectors`: {slug: {"name", "actions": {action: {"method", "path", "parameters": [...]}}}}.
    `workflow`: {"slug", "name", "description", "tier", "timeout_ms", "retry_policy", "version"}.
    """
    connectors = connectors or {}
    methods = {
        slug: {a: spec.get("method", "") for a, spec in (c.get("actions") or {}).items()}
        for slug, c in connectors.items()
    }
    graph = graph or flow_graph(code, connectors=methods)
    calls: dict[tuple[str, str], dict[str, Any]] = {}
    secrets, state_keys, sql = set(), set(), []
    outputs = []
    for node in graph.nodes:
        detail = node.detail
        op = detail.get("op")
        if op == "connector.call":
            entry = calls.setdefault(
                (detail["connector"], detail["action"]),
                {"connector": detail["connector"], "action": detail["action"], "params": set(), "lines": []},
            )
            entry["params"].update(p for p in detail.get("params") or [] if not p.startswith("..."))
            entry["lines"].append(node.line)
            spec = ((connectors.get(detail["connector"]) or {}).get("actions") or {}).get(detail["action"])
            entry["method"] = (spec or {}).get("method") or None
            entry["path"] = (spec or {}).get("path") or None
            entry["installed"] = detail["connector"] in connectors
            entry["known_action"] = spec is not None
            entry["declared_params"] = (spec or {}).get("parameters") or []
            entry["kind"] = node.kind
        elif op == "secrets.get" and detail.get("name"):
            secrets.add(detail["name"])
        elif op in ("state.get", "state.set", "state.delete") and detail.get("key"):
            state_keys.add(detail["key"])
        elif op in ("db.query", "db.execute") and detail.get("sql"):
            sql.append({"op": op, "sql": detail["sql"], "line": node.line})
        elif node.kind == "DONE" and node.group == "main":
            outputs.append(
                {
                    "line": node.line,
                    "label": node.label,
                    "keys": detail.get("output_keys") or [],
                    "outcome": detail.get("outcome", "ok"),
                    "early": bool(detail.get("early")),
                }
            )
    paths = ctx_paths(code)
    return {
        "workflow": workflow,
        "inputs": paths["input"],
        "headers": paths["headers"],
        "config": paths["config"],
        "customer_fields": paths["customer"],
        "connectors": [
            {**entry, "params": sorted(entry["params"])}
            for entry in sorted(calls.values(), key=lambda e: e["lines"][0])
        ],
        "outputs": outputs,
        "secrets": sorted(secrets),
        "state_keys": sorted(state_keys),
        "sql": sql,
        "triggers": triggers or [],
        "errors": graph.errors,
    }


def reference_markdown(reference: dict[str, Any]) -> str:
    wf = reference["workflow"]
    retry = wf.get("retry_policy") or {}
    lines = [f"# {wf.get('name') or wf['slug']}", ""]
    if wf.get("description"):
        lines += [wf["description"], ""]
    lines += [
        f"- Slug: `{wf['slug']}`",
        f"- Version: {('v' + str(wf['version'])) if wf.get('version') else 'draft'}",
        f"- Tier: {wf.get('tier')} · timeout {wf.get('timeout_ms')} ms",
        "- Retry policy: "
        + (
            f"up to {retry.get('max_attempts')} attempts, first retry after {retry.get('initial_interval_ms')} ms, "
            f"backoff ×{retry.get('backoff_coefficient')}, at most {retry.get('max_interval_ms')} ms"
            if retry.get("enabled")
            else "no retries"
        ),
        "",
        "## Inputs (`ctx.input`)",
        "",
    ]
    lines += [f"- `ctx.input.{p}`" for p in reference["inputs"]] or ["None read."]
    if reference["headers"]:
        lines += ["", "## Headers (`ctx.headers`)", ""] + [f"- `{h}`" for h in reference["headers"]]
    if reference["config"]:
        lines += ["", "## Customer settings (`ctx.config`)", ""] + [f"- `{c}`" for c in reference["config"]]
    lines += ["", "## Connector calls", ""]
    if reference["connectors"]:
        lines += ["| connector | action | method | parameters | lines |", "|---|---|---|---|---|"]
        for call in reference["connectors"]:
            method = (call.get("method") or "?").upper()
            params = ", ".join(f"`{p}`" for p in call["params"]) or "—"
            at = ", ".join(str(n) for n in call["lines"])
            lines.append(f"| `{call['connector']}` | `{call['action']}` | {method} | {params} | {at} |")
    else:
        lines.append("None.")
    lines += ["", "## Outputs", ""]
    for output in reference["outputs"]:
        kind = "error" if output["outcome"] == "error" else ("early return" if output["early"] else "return")
        keys = ", ".join(f"`{k}`" for k in output["keys"])
        lines.append(f"- line {output['line']} ({kind}): {keys or short(output['label'], 80)}")
    if not reference["outputs"]:
        lines.append("None.")
    lines += ["", "## Secrets read", ""]
    lines += [f"- `{name}`" for name in reference["secrets"]] or ["None."]
    if reference["state_keys"]:
        lines += ["", "## State keys", ""] + [f"- `{k}`" for k in reference["state_keys"]]
    if reference["sql"]:
        lines += ["", "## Database statements", ""] + [
            f"- line {s['line']} `{s['op']}`: `{s['sql']}`" for s in reference["sql"]
        ]
    lines += ["", "## Triggers", ""]
    for trigger in reference["triggers"]:
        parts = [trigger["type"], f"environment {trigger['environment']}"]
        if trigger.get("customer"):
            parts.append(f"customer {trigger['customer']}")
        if trigger.get("schedule"):
            parts.append(trigger["schedule"])
        if not trigger.get("enabled", True):
            parts.append("disabled")
        lines.append("- " + " · ".join(parts))
    if not reference["triggers"]:
        lines.append("None: runs start from the API or the dashboard.")
    return "\n".join(lines) + "\n"
