"""What a run returns: output, ctx, thrown errors with the author's line numbers, invalid results."""

from __future__ import annotations

import pytest

from apps.workflows.runtime import NullHost, RunLimits, run_workflow

LIMITS = RunLimits(timeout_ms=1000)


def run(code: str, ctx: dict | None = None, limits: RunLimits = LIMITS):
    return run_workflow(code, ctx=ctx if ctx is not None else {"input": {}}, host=NullHost(), limits=limits)


def test_async_function_returns_its_value():
    result = run(
        "export default async function (ctx) { return { sum: ctx.input.a + ctx.input.b } }",
        {"input": {"a": 40, "b": 2}},
    )
    assert result.status == "completed"
    assert result.output == {"sum": 42}
    assert result.error is None
    assert result.ops == 0
    assert 0 < result.duration_ms < 1000


def test_sync_function_and_arrow_return_their_value():
    assert run("export default function (ctx) { return 'sync' }").output == "sync"
    assert run("export default (ctx) => ['arrow', ctx.input.n]", {"input": {"n": 1}}).output == ["arrow", 1]


def test_undefined_return_becomes_null():
    result = run("export default async () => {}")
    assert result.status == "completed"
    assert result.output is None


def test_ctx_carries_every_field():
    ctx = {
        "input": {"order": 7},
        "headers": {"x-request-id": "r1"},
        "customer": {"id": "c1", "tier": "gold"},
        "execution": {"id": "e1", "attempt": 2, "tier": "instant", "version": 3},
    }
    code = """export default (ctx) => [
      ctx.input.order, ctx.headers['x-request-id'], ctx.customer.tier, ctx.execution.attempt,
    ]"""
    assert run(code, ctx).output == [7, "r1", "gold", 2]


def test_ctx_mutation_stays_inside_the_run():
    ctx = {"input": {"items": [1]}, "execution": {"id": "e1"}}
    code = """export default (ctx) => {
      ctx.input.items.push(2);                     // input is the author's to reshape
      const refused = [];
      try { ctx.execution.id = 'forged' } catch (e) { refused.push(e.name) }
      try { ctx.input = {} } catch (e) { refused.push(e.name) }
      return { items: ctx.input.items, id: ctx.execution.id, refused };
    }"""
    result = run(code, ctx)
    assert result.output == {"items": [1, 2], "id": "e1", "refused": ["TypeError", "TypeError"]}
    assert ctx == {"input": {"items": [1]}, "execution": {"id": "e1"}}


def test_thrown_error_keeps_message_name_and_the_authors_line():
    code = (
        "export default async function (ctx) {\n"  # 1
        "  const n = ctx.input.n;\n"  # 2
        "  if (n > 1) {\n"  # 3
        "    throw new RangeError(`n is ${n}`);\n"  # 4
        "  }\n"
        "}\n"
    )
    result = run(code, {"input": {"n": 5}})
    assert result.status == "failed"
    error = result.error
    assert error["code"] == "js_error"
    assert error["name"] == "RangeError"
    assert error["message"] == "n is 5"
    assert error["line"] == 4
    # QuickJS records the last source position before the throw: here the `n`
    # inside the template literal.
    assert error["column"] == 34
    assert error["stack"].startswith("RangeError: n is 5\n    at ")
    assert "workflow.js:4:34" in error["stack"]
    assert "prelude" not in error["stack"]


def test_error_thrown_on_the_first_line_reports_the_authors_column():
    result = run("export default () => { throw new Error('one-liner') }")
    assert (result.error["line"], result.error["column"]) == (1, 34)
    assert "workflow.js:1:34" in result.error["stack"]


def test_error_in_a_helper_reports_the_helpers_line_first():
    code = (
        "function helper(record) {\n"  # 1
        "  const owner = record.owner\n"  # 2
        "  return owner.name\n"  # 3
        "}\n"
        "export default () => helper({})\n"  # 5
    )
    result = run(code)
    assert result.error["name"] == "TypeError"
    assert result.error["message"] == "cannot read property 'name' of undefined"
    assert result.error["line"] == 3
    assert "at helper (workflow.js:3:" in result.error["stack"]
    assert "(workflow.js:5:" in result.error["stack"]


def test_thrown_non_error_values_become_messages():
    assert run("export default () => { throw 'plain text' }").error["message"] == "plain text"
    assert run("export default () => { throw { code: 42 } }").error["message"] == "{ code: 42 }"


def test_custom_error_subclass_keeps_its_name():
    code = (
        "class NotFound extends Error { constructor(m) { super(m); this.name = 'NotFound' } }\n"
        "export default () => { throw new NotFound('gone') }"
    )
    error = run(code).error
    assert (error["name"], error["message"]) == ("NotFound", "gone")


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("export default () => ({ fn() {} })", 'a function at key "fn"'),
        ("export default () => 10n", "a BigInt at the top level"),
        ("export default () => ({ n: 1n })", 'a BigInt at key "n"'),
        ("export default () => Symbol('s')", "a symbol at the top level"),
        ("export default () => { const a = {}; a.self = a; return a }", "circular"),
    ],
)
def test_unserialisable_return_values_fail_clearly(code, fragment):
    result = run(code)
    assert result.status == "failed"
    assert result.error["code"] == "invalid_return"
    assert "not JSON-serialisable" in result.error["message"]
    assert fragment in result.error["message"]


def test_json_conversions_apply_to_output():
    code = "export default () => ({ when: new Date(0), gone: undefined, list: [undefined, NaN] })"
    assert run(code).output == {"when": "1970-01-01T00:00:00.000Z", "list": [None, None]}


def test_output_over_the_cap_fails():
    limits = RunLimits(timeout_ms=1000, max_output_bytes=1000)
    assert run("export default () => 'x'.repeat(900)", limits=limits).status == "completed"
    result = run("export default () => 'x'.repeat(2000)", limits=limits)
    assert result.status == "failed"
    assert result.error["code"] == "output_too_large"
    assert result.error["name"] == "RangeError"
    assert "1000 bytes" in result.error["message"]


def test_output_cap_counts_utf8_bytes():
    limits = RunLimits(timeout_ms=1000, max_output_bytes=1000)
    result = run("export default () => 'é'.repeat(600)", limits=limits)  # 600 chars, 1202 bytes of JSON
    assert result.status == "failed"
    assert result.error["code"] == "output_too_large"


def test_uncaught_error_in_a_timer_fails_the_run_with_its_line():
    code = (
        "export default async () => {\n  setTimeout(() => { throw new Error('in timer') }, 1);\n"
        "  await new Promise((resolve) => setTimeout(resolve, 50));\n}\n"
    )
    result = run(code)
    assert result.status == "failed"
    assert result.error["message"] == "in timer"
    assert result.error["line"] == 2


def test_uncaught_error_in_a_microtask_fails_the_run():
    code = (
        "export default async () => {\n  queueMicrotask(() => { throw new TypeError('micro') });\n"
        "  await new Promise((resolve) => setTimeout(resolve, 20));\n}\n"
    )
    error = run(code).error
    assert (error["name"], error["message"], error["line"]) == ("TypeError", "micro", 2)


def test_structured_clone_copies_json_data():
    code = "export default () => { const a = { n: [1] }; const b = structuredClone(a); b.n.push(2); return [a, b] }"
    assert run(code).output == [{"n": [1]}, {"n": [1, 2]}]


def test_ctx_must_be_json_serialisable_mapping():
    with pytest.raises(TypeError):
        run_workflow("export default () => 1", ctx=[1], host=NullHost(), limits=LIMITS)  # type: ignore[arg-type]
