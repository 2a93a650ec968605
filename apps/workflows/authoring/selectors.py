"""Reads for the workflow page's authoring tools: editor completion data,
diagnostics, the Docs tab (graph, reference) and an execution's sequence."""

from __future__ import annotations

from typing import Any

from apps.connectors.selectors import call_traces_for_execution, connector_action_catalog
from apps.settings.selectors import secret_list
from apps.workflows.authoring.flowgraph import FlowGraph, flow_graph
from apps.workflows.authoring.reference import workflow_reference
from apps.workflows.models import Execution, TestCase, Workflow, WorkflowVersion
from apps.workflows.runtime import CompileError, compile_check

MAX_INPUT_PATHS = 200


def _schema_paths(schema: Any, prefix: str = "", depth: int = 0) -> list[str]:
    if not isinstance(schema, dict) or depth > 4:
        return []
    paths = []
    for name, spec in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        paths.append(path)
        paths += _schema_paths(spec, path + ".", depth + 1)
    return paths


def _value_paths(value: Any, prefix: str = "", depth: int = 0) -> list[str]:
    if not isinstance(value, dict) or depth > 4:
        return []
    paths = []
    for name, inner in value.items():
        path = f"{prefix}{name}"
        paths.append(path)
        paths += _value_paths(inner, path + ".", depth + 1)
    return paths


def editor_context(*, workflow: Workflow) -> dict[str, Any]:
    """What the editor completes: installed connectors' actions and parameters,
    `ctx.input` paths (the input schema's and the test cases' inputs), secret names."""
    paths = set(_schema_paths(workflow.input_schema))
    for value in TestCase.objects.filter(workflow=workflow).values_list("input", flat=True)[:50]:
        paths.update(_value_paths(value))
    return {
        "connectors": connector_action_catalog(),
        "input_paths": sorted(paths)[:MAX_INPUT_PATHS],
        "secrets": list(secret_list().values_list("name", flat=True)[:500]),
    }


def _methods(catalog: list[dict]) -> dict[str, dict[str, str]]:
    return {c["slug"]: {a["name"]: a["method"] for a in c["actions"]} for c in catalog}


def code_diagnostics(*, code: str, catalog: list[dict] | None = None, secrets: set[str] | None = None) -> list[dict]:
    """The editor's inline diagnostics: the QuickJS compile error (the same
    check Save and the API use), then warnings about runtime calls the
    organization cannot satisfy (a connector not installed, an unknown
    action, a missing required parameter, an undefined secret)."""
    diagnostics: list[dict] = []
    try:
        compile_check(code)
    except CompileError as exc:
        diagnostics.append(
            {"line": exc.line, "column": exc.column, "message": exc.message, "severity": "error", "source": "QuickJS"}
        )
        return diagnostics
    if catalog is None:
        return diagnostics
    by_slug = {c["slug"]: c for c in catalog}
    graph = flow_graph(code, connectors=_methods(catalog))
    for node in graph.nodes:
        detail = node.detail
        if detail.get("op") == "connector.call":
            slug, action = detail["connector"], detail["action"]
            connector = by_slug.get(slug)
            if connector is None:
                diagnostics.append(_warning(node.line, f"No connector {slug!r} is installed in this organization."))
                continue
            spec = next((a for a in connector["actions"] if a["name"] == action), None)
            if spec is None:
                names = ", ".join(a["name"] for a in connector["actions"][:8])
                diagnostics.append(_warning(node.line, f"{slug} has no action {action!r} (it has: {names})."))
                continue
            given = set(detail.get("params") or [])
            if given and not any(p.startswith("...") for p in given):
                missing = [p["name"] for p in spec["params"] if p["required"] and p["name"] not in given]
                if missing:
                    diagnostics.append(_warning(node.line, f"{slug}.{action} needs {', '.join(missing)}."))
        elif detail.get("op") == "secrets.get" and secrets is not None and detail.get("name"):
            if detail["name"] not in secrets:
                diagnostics.append(_warning(node.line, f"No secret named {detail['name']!r} (Settings → Secrets)."))
    return diagnostics


def _warning(line: int, message: str) -> dict:
    return {"line": line, "column": 1, "message": message, "severity": "warning", "source": "Fastn"}


def workflow_docs(*, workflow: Workflow, code: str | None = None, version: WorkflowVersion | None = None) -> dict:
    """The Docs tab: the flow graph and the reference of the code given (the
    editor's), of a version, or of the saved draft."""
    catalog = connector_action_catalog()
    if version is not None:
        code, config, number = version.code, version.config, version.number
    else:
        code = workflow.code if code is None else code
        config = {"tier": workflow.tier, "timeout_ms": workflow.timeout_ms, "retry_policy": workflow.retry_policy}
        number = None
    graph: FlowGraph = flow_graph(code, connectors=_methods(catalog), trigger_label=_trigger_label(workflow))
    connectors = {
        c["slug"]: {
            "name": c["name"],
            "actions": {
                a["name"]: {"method": a["method"], "path": a["path"], "parameters": [p["name"] for p in a["params"]]}
                for a in c["actions"]
            },
        }
        for c in catalog
    }
    reference = workflow_reference(
        code=code,
        connectors=connectors,
        workflow={
            "slug": workflow.slug,
            "name": workflow.name,
            "description": workflow.description,
            "tier": config.get("tier"),
            "timeout_ms": config.get("timeout_ms"),
            "retry_policy": config.get("retry_policy") or {},
            "version": number,
        },
        triggers=workflow_triggers(workflow=workflow),
        graph=graph,
    )
    return {"graph": graph.as_dict(), "reference": reference}


def workflow_triggers(*, workflow: Workflow) -> list[dict]:
    """The triggers pointing at the workflow, read through the reverse relation
    (the triggers app builds on workflows, not the other way round)."""
    related = getattr(workflow, "triggers", None)
    if related is None:
        return []
    rows = []
    for trigger in related.select_related("customer").order_by("created_at")[:100]:
        config = trigger.config or {}
        schedule = ""
        if config.get("cron"):
            schedule = f"cron {config['cron']} ({config.get('timezone', 'UTC')})"
        elif config.get("interval_seconds"):
            schedule = f"every {config['interval_seconds']} s"
        rows.append(
            {
                "type": trigger.type,
                "name": trigger.name,
                "environment": trigger.environment,
                "customer": trigger.customer.external_id if trigger.customer_id else None,
                "enabled": trigger.enabled,
                "schedule": schedule,
                "connector": trigger.connector_slug or None,
            }
        )
    return rows


def _trigger_label(workflow: Workflow) -> str:
    related = getattr(workflow, "triggers", None)
    kinds = sorted(set(related.values_list("type", flat=True))) if related is not None else []
    return "Trigger: " + (", ".join(kinds) if kinds else "API / manual")


def execution_sequence(*, execution: Execution) -> dict:
    """What a run actually did, in order: its steps (every runtime call with
    offset, duration and status), each connector call joined with its trace."""
    steps = [dict(step) for step in (execution.steps or []) if isinstance(step, dict)]
    traces = call_traces_for_execution(execution_id=execution.id) if execution.id else []
    pending: dict[str, list] = {}
    for trace in traces:
        pending.setdefault(f"{trace.connector_slug}.{trace.action}", []).append(trace)
    for step in steps:
        if step.get("op") == "connector.call":
            queue = pending.get(step.get("target", ""))
            if queue:
                trace = queue.pop(0)
                step["trace"] = {"id": str(trace.id), "method": trace.method, "url": trace.url, "status": trace.status}
    total = max((s.get("at_ms", 0) + s.get("duration_ms", 0) for s in steps), default=0.0)
    total = max(total, execution.duration_ms or 0.0, 1.0)
    for step in steps:
        step["left_pct"] = round(100 * (step.get("at_ms") or 0) / total, 2)
        step["width_pct"] = max(round(100 * (step.get("duration_ms") or 0) / total, 2), 0.4)
    return {"steps": steps, "total_ms": total, "execution": execution}
