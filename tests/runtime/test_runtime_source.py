"""Compiling workflows: the `export default` rewrite and syntax errors in the author's coordinates."""

from __future__ import annotations

import pytest

from apps.workflows.runtime import CompileError, NullHost, RunLimits, compile_check, run_workflow
from apps.workflows.runtime.source import prepare

LIMITS = RunLimits(timeout_ms=1000)


def run(code: str, **ctx):
    return run_workflow(code, ctx=ctx or {"input": {}}, host=NullHost(), limits=LIMITS)


@pytest.mark.parametrize(
    "code",
    [
        "export default async function (ctx) { return 1 }",
        "export default async (ctx) => 1",
        "export default function (ctx) { return 1 }",
        "export default (ctx) => { return 1 }",
        "export default function main(ctx) { return 1 }",
        "export default async function main(ctx) { return 1 }",
        "const main = () => 1\nexport default main",
        "export /* odd but legal */ default\n  (ctx) => 1",
    ],
)
def test_every_form_of_default_export_runs(code):
    result = run(code)
    assert result.status == "completed", result.error
    assert result.output == 1


def test_rewrite_keeps_every_line_and_column():
    code = "export default async function (ctx) {\n  return ctx.input\n}\n"
    body = prepare(code).body
    assert body.count("\n") == code.count("\n")
    assert body.splitlines()[1] == code.splitlines()[1]
    assert body.index("async function") == code.index("async function")


def test_export_default_inside_strings_comments_templates_and_regexes_is_left_alone():
    code = (
        "const a = 'export default 1'\n"
        "// export default 2\n"
        "/* export default 3 */\n"
        "const t = `export default ${'x'} export default`\n"
        "const r = /export default/\n"
        "export default () => [a, t, r.source]\n"
    )
    result = run(code)
    assert result.status == "completed", result.error
    assert result.output == ["export default 1", "export default x export default", "export default"]


def test_anonymous_function_declaration_is_not_called_by_a_following_parenthesis():
    code = "export default function (ctx) { return 'main' }\n(function side() {})()\n"
    assert run(code).output == "main"


def test_named_exports_are_kept_as_plain_declarations():
    code = (
        "export default function main(ctx) {\n  return helper(ctx.input.x)\n}\n"
        "export const factor = 2\nexport function helper(x) { return x * factor }\n"
    )
    assert run(code, input={"x": 21}).output == 42


def test_top_level_await_and_module_scope_work():
    code = "const base = await Promise.resolve(40)\nexport default async () => base + 2\n"
    assert run(code).output == 42


def test_module_code_is_strict():
    code = "export default () => { undeclared = 1 }"
    result = run(code)
    assert result.status == "failed"
    assert result.error["name"] == "ReferenceError"


def test_syntax_error_reports_the_authors_line_and_column():
    code = "export default async function (ctx) {\n  const x = 1;\n  let a = (;\n}\n"
    with pytest.raises(CompileError) as caught:
        compile_check(code)
    assert caught.value.line == 3
    assert caught.value.column == 12  # the `;`
    assert "unexpected token" in caught.value.message
    assert "line 3, column 12" in str(caught.value)


def test_syntax_error_on_the_first_line_has_the_right_column():
    with pytest.raises(CompileError) as caught:
        compile_check("export default (ctx) => { return ) }")
    assert (caught.value.line, caught.value.column) == (1, 34)


def test_missing_closing_brace_points_at_the_end_of_the_code():
    code = "export default function (ctx) {\n  if (true) {\n    return 1\n}\n"
    with pytest.raises(CompileError) as caught:
        compile_check(code)
    assert caught.value.line == 5  # the end of the code
    assert "unexpected end of the code" in caught.value.message


def test_run_of_code_with_a_syntax_error_fails_with_compile_error():
    result = run("export default () => {\n  return 1 +\n}\n")
    assert result.status == "failed"
    assert result.error["code"] == "compile_error"
    assert result.error["line"] == 3


def test_imports_are_refused_with_an_explanation():
    with pytest.raises(CompileError) as caught:
        compile_check("import fs from 'fs'\nexport default () => 1\n")
    assert "Imports are not supported" in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, 1)


def test_dynamic_import_compiles_but_cannot_load_anything():
    result = run("export default async () => { await import('fs') }")
    assert result.status == "failed"
    assert "could not load module" in result.error["message"]


@pytest.mark.parametrize("code", ["export { a }\nexport default () => 1", "export * from 'x'\nexport default () => 1"])
def test_export_lists_and_reexports_are_refused(code):
    with pytest.raises(CompileError) as caught:
        compile_check(code)
    assert "Only `export default` is supported" in caught.value.message


def test_missing_default_export_is_a_compile_error():
    with pytest.raises(CompileError) as caught:
        compile_check("async function main(ctx) { return 1 }")
    assert "No `export default` found" in caught.value.message


def test_two_default_exports_are_a_compile_error():
    with pytest.raises(CompileError) as caught:
        compile_check("export default () => 1\nexport default () => 2\n")
    assert caught.value.line == 2


def test_default_export_that_is_not_a_function_fails_the_run():
    result = run("export default { not: 'a function' }")
    assert result.status == "failed"
    assert result.error["code"] == "invalid_workflow"
    assert "must be a function" in result.error["message"]


def test_code_that_would_close_the_wrapper_never_runs():
    # Balanced for the wrapper, but not valid on its own: the body-alone
    # compile rejects it before anything could run outside the interrupt.
    code = "export default () => 1\n}); globalThis.escaped = true; (function () {\n"
    with pytest.raises(CompileError):
        compile_check(code)


def test_compile_check_runs_nothing():
    # An endless top-level loop would hang compile_check if it ran any code.
    compile_check("while (true) {}\nexport default () => 1\n")


def test_tokenizer_handles_regexes_templates_and_property_names():
    code = r"""const braces = /[}{'"`]/g
const half = 10 / 2 / 1
const nested = `a ${`b ${'}'} c`} d ${ {k: '}'}.k }`
const obj = { export: 1, import: 2 }
const reach = obj.export + obj.import
export default () => [braces.source, half, nested, reach]
"""
    assert run(code).output == ["[}{'\"`]", 5, "a b } c d }", 3]


def test_regex_after_a_closing_brace_is_read_as_a_regex():
    code = "if (true) {}\n/export default/.test('x')\nexport default () => 'ok'\n"
    assert run(code).output == "ok"


def test_hashbang_line_is_allowed():
    assert run("#!/usr/bin/env fastn\nexport default () => 'ok'\n").output == "ok"
