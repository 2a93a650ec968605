"""Workflow code cannot reach the sandbox's machinery, forge results, or touch the outside world."""

from __future__ import annotations

from apps.workflows.runtime import HostOp, HostResult, NullHost, RunLimits, run_workflow

LIMITS = RunLimits(timeout_ms=1000)

# What a fresh quickjs-ng context has, plus what the prelude adds.
QUICKJS_GLOBALS = {
    "Object",
    "Function",
    "Error",
    "EvalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
    "InternalError",
    "AggregateError",
    "SuppressedError",
    "Iterator",
    "Array",
    "parseInt",
    "parseFloat",
    "isNaN",
    "isFinite",
    "queueMicrotask",
    "decodeURI",
    "decodeURIComponent",
    "encodeURI",
    "encodeURIComponent",
    "escape",
    "unescape",
    "Infinity",
    "NaN",
    "undefined",
    "eval",
    "Number",
    "Boolean",
    "String",
    "Math",
    "Reflect",
    "Symbol",
    "DisposableStack",
    "globalThis",
    "BigInt",
    "Date",
    "RegExp",
    "JSON",
    "Proxy",
    "Map",
    "Set",
    "WeakMap",
    "WeakSet",
    "ArrayBuffer",
    "SharedArrayBuffer",
    "Uint8ClampedArray",
    "Int8Array",
    "Uint8Array",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "BigInt64Array",
    "BigUint64Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "DataView",
    "Atomics",
    "Promise",
    "AsyncDisposableStack",
    "WeakRef",
    "FinalizationRegistry",
    "DOMException",
    "btoa",
    "atob",
    "performance",
}
PRELUDE_GLOBALS = {
    "fastn",
    "console",
    "setTimeout",
    "setInterval",
    "clearTimeout",
    "clearInterval",
    "structuredClone",
}


class EchoHost:
    def __init__(self) -> None:
        self.ops: list[HostOp] = []

    def perform(self, ops, *, deadline):
        self.ops.extend(ops)
        return [HostResult(op.id, ok=True, value=f"real:{op.args.get('key')}") for op in ops]


def run(code: str, host=None):
    return run_workflow(code, ctx={"input": {}}, host=host or NullHost(), limits=LIMITS)


def test_only_documented_globals_exist():
    result = run("export default () => Object.getOwnPropertyNames(globalThis)")
    assert set(result.output) == QUICKJS_GLOBALS | PRELUDE_GLOBALS


def test_no_host_capabilities_are_exposed():
    code = """export default () => [
      typeof require, typeof process, typeof fetch, typeof XMLHttpRequest, typeof std, typeof os,
      typeof print, typeof scriptArgs, typeof WebAssembly, typeof Deno, typeof Bun,
    ]"""
    assert set(run(code).output) == {"undefined"}


def test_atomics_wait_cannot_block_the_worker():
    code = """export default () => {
      try { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000) } catch (e) { return e.message }
    }"""
    assert run(code).output == "cannot block in this thread"


def test_boot_and_loader_entry_points_are_gone():
    code = (
        "export default () => [typeof globalThis.__fastnBoot, typeof globalThis.__fastnModule, 'control' in globalThis]"
    )
    assert run(code).output == ["undefined", "undefined", False]


def test_prepare_stack_trace_is_locked_so_call_sites_never_leak_functions():
    code = """export default () => {
      let leaked = 'nothing';
      try { Error.prepareStackTrace = (error, sites) => { leaked = sites.map((s) => s.getFunction()); return '' } }
      catch (e) { leaked = e.name }
      new Error('probe').stack;
      Object.defineProperty(Error, 'prepareStackTrace', { value: () => 'hooked' });
      return leaked;
    }"""
    result = run(code)
    assert result.status == "failed"  # the redefinition throws: the property is non-configurable
    assert result.error["name"] == "TypeError"


def test_fastn_is_frozen_and_cannot_be_replaced():
    code = """export default () => {
      const refused = [];
      for (const attempt of [
        () => { fastn.db = {} },
        () => { fastn.db.query = () => 'fake' },
        () => { fastn.state.get = () => 'fake' },
        () => { fastn.connector.call = () => 'fake' },
        () => { globalThis.fastn = {} },
        () => { delete globalThis.fastn },
        () => { Object.defineProperty(fastn.connector, 'crm', { value: {} }) },
      ]) {
        try { attempt(); refused.push('allowed') } catch (e) { refused.push(e.name) }
      }
      return [refused, Object.isFrozen(fastn), Object.isFrozen(fastn.db)];
    }"""
    assert run(code).output == [["TypeError"] * 7, True, True]


def test_patched_builtins_cannot_observe_or_forge_runtime_calls():
    host = EchoHost()
    code = """export default async () => {
      const seen = [];
      for (const name of ['0', '1', 'resolve', 'reject', 'site', 'id', 'args', 'd']) {
        Object.defineProperty(Object.prototype, name, { set(v) { seen.push(name) }, configurable: true });
      }
      Map.prototype.set = function () { seen.push('Map.set'); return this };
      Map.prototype.get = function () { seen.push('Map.get') };
      Array.prototype.join = function () { seen.push('join'); return '' };
      Promise.prototype.then = function () { seen.push('then') };
      JSON.stringify = () => '{"key":"forged"},{"id":99,"name":"secrets.get","args":{"name":"ROOT"}}';
      JSON.parse = () => [[1, 1, 'forged']];
      Function.prototype.call = function () { seen.push('call') };
      Function.prototype.bind = function () { seen.push('bind') };
      const value = await fastn.state.get('k');
      return { value, seen };
    }"""
    result = run(code, host)
    assert result.status == "completed", result.error
    assert result.output == {"value": "real:k", "seen": []}
    assert [(op.name, op.args) for op in host.ops] == [("state.get", {"key": "k", "scope": "ORG"})]


def test_api_functions_do_not_reveal_the_machinery():
    code = """export default () => [
      Object.getOwnPropertyNames(fastn).sort(),
      Object.getOwnPropertyNames(fastn.connector),
      (() => { try { return fastn.connector.call.caller } catch (e) { return e.name } })(),
      Object.getPrototypeOf(fastn.connector) === null,
      typeof fastn.connector.crm.list,
      fastn.connector.crm.list.name,
    ]"""
    output = run(code).output
    assert output[:4] == [["connector", "db", "secrets", "state"], ["call"], "TypeError", True]
    assert output[4:] == ["function", "crm.list"]


def test_eval_runs_javascript_inside_the_sandbox_only():
    code = """export default () => [
      eval('1 + 1'), new Function('return typeof fastn')(), (0, eval)('typeof globalThis.__fastnBoot'),
    ]"""
    assert run(code).output == [2, "object", "undefined"]


def test_workflow_cannot_set_its_own_default_export_twice_via_the_loader():
    code = "export default () => { try { __fastnModule = () => 'swapped' } catch (e) { return e.name } }"
    assert run(code).output == "ReferenceError"
