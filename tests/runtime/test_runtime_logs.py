"""console capture, its limits, and redaction of secrets everywhere a run's results go."""

from __future__ import annotations

from apps.workflows.runtime import REDACTED, DictHost, NullHost, Redactor, RunLimits, run_workflow

LIMITS = RunLimits(timeout_ms=1000)


def run(code: str, host=None, limits: RunLimits = LIMITS, **kwargs):
    return run_workflow(code, ctx={"input": {}}, host=host or NullHost(), limits=limits, **kwargs)


def messages(result) -> list[str]:
    return [entry["message"] for entry in result.logs]


def test_console_levels_and_timestamps():
    code = """export default async () => {
      console.log('a'); console.info('b'); console.warn('c'); console.error('d'); console.debug('e');
      await new Promise((resolve) => setTimeout(resolve, 30));
      console.log('later');
    }"""
    result = run(code)
    assert [(entry["level"], entry["message"]) for entry in result.logs] == [
        ("log", "a"),
        ("info", "b"),
        ("warn", "c"),
        ("error", "d"),
        ("log", "e"),
        ("log", "later"),
    ]
    assert all(isinstance(entry["ts_ms"], int) for entry in result.logs)
    assert result.logs[-1]["ts_ms"] - result.logs[0]["ts_ms"] >= 29
    assert result.logs_truncated is False


def test_values_are_formatted_like_node():
    code = r"""export default () => {
      console.log('n', 1, true, null, undefined, -0, 5n, Symbol('s'));
      console.log({ a: 1, 'b-c': 'x', nested: { deep: { deeper: { deepest: 1 } } }, list: [1, 'two'] });
      console.log([], {}, [[1, [2, [3, [4]]]]], new Map([['k', 1]]), new Set([1]));
      console.log(function named() {}, () => {}, class Shape {}, new Date(0), /re/g);
      class Point { constructor() { this.x = 1 } }
      const loop = { name: 'loop' }; loop.self = loop;
      console.log(new Point(), Object.create(null), loop, { get lazy() { throw new Error('not run') } });
      console.log('%s has %d items costing %f (%j) %o %%', 'cart', 3, 9.5, { ok: true }, [1]);
      console.log('it\'s', ['it\'s']);
    }"""
    assert messages(run(code)) == [
        "n 1 true null undefined -0 5n Symbol(s)",
        "{ a: 1, 'b-c': 'x', nested: { deep: { deeper: [Object] } }, list: [ 1, 'two' ] }",
        "[] {} [ [ 1, [ 2, [Array] ] ] ] Map(1) { 'k' => 1 } Set(1) { 1 }",
        "[Function: named] [Function (anonymous)] [class Shape] 1970-01-01T00:00:00.000Z /re/g",
        "Point { x: 1 } [Object: null prototype] {} { name: 'loop', self: [Circular] } { lazy: [Getter] }",
        'cart has 3 items costing 9.5 ({"ok":true}) [ 1 ] %',
        "it's [ 'it\\'s' ]",
    ]


def test_errors_are_logged_with_their_stack():
    code = (
        "export default () => {\n  const error = new Error('shown')\n  error.status = 500\n  console.error(error)\n}\n"
    )
    (message,) = messages(run(code))
    assert message.startswith("Error: shown\n    at ")
    assert "workflow.js:2:" in message
    assert message.endswith("{ status: 500 }")
    assert "prelude" not in message


def test_log_lines_are_capped_with_one_marker():
    limits = RunLimits(timeout_ms=1000, max_log_lines=10)
    result = run("export default () => { for (let i = 0; i < 25; i++) console.log('line', i) }", limits=limits)
    assert result.logs_truncated is True
    assert messages(result)[:10] == [f"line {i}" for i in range(10)]
    assert len(result.logs) == 11
    assert result.logs[-1]["level"] == "warn"
    assert "15 more entries" in result.logs[-1]["message"]


def test_log_bytes_are_capped_exactly_in_utf8():
    limits = RunLimits(timeout_ms=1000, max_log_bytes=100)
    result = run("export default () => { for (let i = 0; i < 10; i++) console.log('é'.repeat(20)) }", limits=limits)
    assert result.logs_truncated is True
    kept = result.logs[:-1]
    assert sum(len(entry["message"].encode()) for entry in kept) <= 100
    assert kept[0]["message"] == "é" * 20
    assert "Log truncated" in result.logs[-1]["message"]


def test_one_huge_message_is_cut_to_the_budget():
    limits = RunLimits(timeout_ms=1000, max_log_bytes=1000)
    result = run("export default () => { console.log('x'.repeat(5000)); console.log('after') }", limits=limits)
    assert result.logs[0]["message"] == "x" * 1000
    assert result.logs_truncated is True
    assert len(result.logs) == 2


def test_logs_survive_a_failure():
    result = run("export default () => { console.log('step 1'); throw new Error('step 2') }")
    assert result.status == "failed"
    assert messages(result) == ["step 1"]


def test_secrets_are_redacted_from_output_logs_and_error():
    host = DictHost(secrets={"API_TOKEN": "tok-live-123456"})
    code = """export default async () => {
      const token = await fastn.secrets.get('API_TOKEN');
      console.log('using', token, { header: 'Bearer ' + token });
      console.log(JSON.stringify({ quoted: token }));
      throw new Error('request with ' + token + ' failed');
    }"""
    result = run(code, host)
    assert "tok-live-123456" not in repr(result)
    assert result.error["message"] == f"request with {REDACTED} failed"
    assert REDACTED in result.error["stack"]
    assert messages(result)[0] == f"using {REDACTED} {{ header: 'Bearer {REDACTED}' }}"


def test_secrets_are_redacted_from_output_values_and_keys():
    host = DictHost(secrets={"K": "s3cr3t-value"})
    code = """export default async () => {
      const s = await fastn.secrets.get('K');
      return { [s]: [s, 'x' + s + 'y'], n: 1 };
    }"""
    assert run(code, host).output == {REDACTED: [REDACTED, f"x{REDACTED}y"], "n": 1}


def test_values_passed_to_redact_are_redacted_too():
    result = run("export default (ctx) => 'pw=hunter22'", redact=["hunter22"])
    assert result.output == f"pw={REDACTED}"


def test_short_values_are_not_redacted():
    result = run("export default () => 'abc is fine'", redact=["abc", ""])
    assert result.output == "abc is fine"


def test_redactor_prefers_the_longest_secret():
    redactor = Redactor(["secret", "secret-plus-more"])
    assert redactor.text("a secret-plus-more b secret") == f"a {REDACTED} b {REDACTED}"
    quoted = Redactor(['he said "hi"'])
    assert quoted.text('{"m":"he said \\"hi\\""}') == '{"m":"' + REDACTED + '"}'


def test_console_helpers_count_time_assert_and_trace():
    code = """export default () => {
      console.count(); console.count(); console.count('jobs');
      console.assert(1 === 1, 'never shown'); console.assert(false, 'expected %d', 2);
      console.time('t'); console.timeEnd('t');
      console.trace('here');
    }"""
    logged = messages(run(code))
    assert logged[:4] == ["default: 1", "default: 2", "jobs: 1", "Assertion failed: expected 2"]
    assert logged[4].startswith("t: ") and logged[4].endswith("ms")
    assert logged[5].startswith("Trace: here\n    at <anonymous> (workflow.js:5:")
