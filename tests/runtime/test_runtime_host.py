"""The runtime API: operations reach the host in batches, results and errors come back to JavaScript."""

from __future__ import annotations

import time

import pytest

from apps.workflows.runtime import (
    DictHost,
    HostError,
    HostOp,
    HostResult,
    NullHost,
    RunLimits,
    run_workflow,
)

LIMITS = RunLimits(timeout_ms=1000)


class RecordingHost:
    """Answers every op with its own name and args, and records each batch."""

    def __init__(self) -> None:
        self.batches: list[list[HostOp]] = []

    def perform(self, ops: list[HostOp], *, deadline: float) -> list[HostResult]:
        self.batches.append(ops)
        return [HostResult(op.id, ok=True, value={"name": op.name, "args": op.args}) for op in reversed(ops)]


def run(code: str, host, limits: RunLimits = LIMITS, **kwargs):
    return run_workflow(code, ctx={"input": {}}, host=host, limits=limits, **kwargs)


def test_every_api_call_round_trips_with_its_arguments():
    host = RecordingHost()
    code = """export default async () => [
      await fastn.db.query('select * from t where id = $1', [7]),
      await fastn.db.execute('delete from t'),
      await fastn.state.get('cursor'),
      await fastn.state.set('cursor', {page: 2}, {scope: 'INVOCATION', ttl: 60}),
      await fastn.state.delete('cursor', {scope: 'ORG'}),
      await fastn.secrets.get('API_KEY'),
      await fastn.connector['acme-crm'].getContact({id: 7}),
      await fastn.connector.call('slack', 'postMessage', {text: 'hi'}),
    ]"""
    result = run(code, host)
    assert result.status == "completed", result.error
    assert result.ops == 8
    assert [entry["args"] for entry in result.output] == [
        {"sql": "select * from t where id = $1", "params": [7]},
        {"sql": "delete from t", "params": []},
        {"key": "cursor", "scope": "ORG"},
        {"key": "cursor", "value": {"page": 2}, "scope": "INVOCATION", "ttl": 60},
        {"key": "cursor", "scope": "ORG"},
        {"name": "API_KEY"},
        {"connector": "acme-crm", "action": "getContact", "params": {"id": 7}},
        {"connector": "slack", "action": "postMessage", "params": {"text": "hi"}},
    ]
    assert [entry["name"] for entry in result.output] == [
        "db.query",
        "db.execute",
        "state.get",
        "state.set",
        "state.delete",
        "secrets.get",
        "connector.call",
        "connector.call",
    ]


def test_concurrent_calls_arrive_in_one_batch():
    host = RecordingHost()
    code = """export default async () => {
      const [a, b, c] = await Promise.all([
        fastn.state.get('a'), fastn.connector.crm.list({}), fastn.db.query('select 1'),
      ]);
      const d = await fastn.state.get('d');
      return [a.name, b.name, c.name, d.name];
    }"""
    result = run(code, host)
    assert result.output == ["state.get", "connector.call", "db.query", "state.get"]
    assert [[op.name for op in batch] for batch in host.batches] == [
        ["state.get", "connector.call", "db.query"],
        ["state.get"],
    ]
    assert [op.id for op in host.batches[0]] == [1, 2, 3]


def test_host_error_is_a_catchable_error_with_status_and_body():
    def not_found(params):
        raise HostError("Not found", name="HttpError", status=404, body={"detail": f"no contact {params['id']}"})

    host = DictHost(connectors={"crm.get": not_found})
    code = """export default async () => {
      try {
        await fastn.connector.crm.get({id: 9});
      } catch (error) {
        return {
          isError: error instanceof Error, name: error.name, message: error.message,
          status: error.status, body: error.body, stack: error.stack,
        };
      }
    }"""
    output = run(code, host).output
    assert output["isError"] is True
    assert (output["name"], output["message"], output["status"]) == ("HttpError", "Not found", 404)
    assert output["body"] == {"detail": "no contact 9"}
    assert "workflow.js:3:" in output["stack"]  # where the workflow made the call


def test_uncaught_host_error_fails_the_run_at_the_call_site():
    code = "export default async () => {\n  const key = await fastn.secrets.get('MISSING')\n  return key\n}\n"
    result = run(code, DictHost())
    assert result.status == "failed"
    assert result.error["code"] == "js_error"
    assert result.error["message"] == "Secret 'MISSING' is not defined"
    assert result.error["line"] == 2


def test_host_error_with_a_builtin_name_uses_that_class():
    class TypeErrorHost:
        def perform(self, ops, *, deadline):
            return [HostResult(op.id, ok=False, error={"message": "bad", "name": "TypeError"}) for op in ops]

    code = (
        "export default async () => { try { await fastn.state.get('k') } catch (e) { return e instanceof TypeError } }"
    )
    assert run(code, TypeErrorHost()).output is True


def test_null_host_explains_what_is_not_available():
    result = run("export default () => fastn.db.query('select 1')", NullHost())
    assert result.error["message"] == "fastn.db.query is not available in this environment"


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        ("fastn.state.get('k', {scope: 'GLOBAL'})", "scope must be 'ORG' or 'INVOCATION', not 'GLOBAL'"),
        ("fastn.state.set('k', 1, {ttl: -5})", "ttl must be a positive number of seconds"),
        ("fastn.state.set('k', 1, {ttl: '60'})", "ttl must be a positive number of seconds, not a string"),
        ("fastn.state.set('k', undefined)", "use fastn.state.delete"),
        ("fastn.state.get('')", "key must be a non-empty string"),
        ("fastn.state.delete(42)", "key must be a non-empty string, not a number"),
        ("fastn.state.get('k', 'ORG')", "options must be an object"),
        ("fastn.db.query('select $1', 7)", "params must be an array"),
        ("fastn.db.execute(null)", "sql must be a non-empty string"),
        ("fastn.secrets.get()", "name must be a non-empty string, not undefined"),
        ("fastn.connector.call('', 'x')", "connector must be a non-empty string"),
        ("fastn.connector.crm.list({big: 1n})", "not JSON-serialisable"),
    ],
)
def test_invalid_arguments_reject_with_a_type_error_before_reaching_the_host(call, fragment):
    host = RecordingHost()
    code = (
        f"export default async () => {{\n"
        f"  try {{ await {call} }} catch (e) {{ return [e.name, e.message, e.stack] }}\n"
        f"}}\n"
    )
    name, message, stack = run(code, host).output
    assert name == "TypeError"
    assert fragment in message
    assert stack.startswith("    at <anonymous> (workflow.js:2:")  # the caller's frame comes first
    assert host.batches == []


def test_api_calls_return_promises_even_when_arguments_are_invalid():
    code = "export default () => { const p = fastn.state.get(1); p.catch(() => {}); return p instanceof Promise }"
    assert run(code, NullHost()).output is True


def test_awaiting_or_logging_a_connector_proxy_is_harmless():
    host = RecordingHost()
    code = (
        "export default async () => { const crm = await fastn.connector.crm; console.log(crm); return typeof crm.then }"
    )
    result = run(code, host)
    assert result.output == "undefined"
    assert host.batches == []


def test_state_round_trips_through_a_dict_host():
    host = DictHost()
    code = """export default async () => {
      await fastn.state.set('n', {count: 1});
      await fastn.state.set('n', 'temp', {scope: 'INVOCATION'});
      const before = await fastn.state.get('n');
      await fastn.state.delete('n');
      return [before, await fastn.state.get('n'), await fastn.state.get('n', {scope: 'INVOCATION'})];
    }"""
    assert run(code, host).output == [{"count": 1}, None, "temp"]


def test_unawaited_calls_are_not_performed_and_the_log_says_so():
    host = RecordingHost()
    result = run("export default () => { fastn.state.set('k', 1); return 'done' }", host)
    assert result.output == "done"
    assert host.batches == []
    assert "not awaited" in result.logs[-1]["message"]
    assert result.logs[-1]["level"] == "warn"


def test_host_gets_the_run_deadline():
    seen: list[float] = []

    class DeadlineHost:
        def perform(self, ops, *, deadline):
            seen.append(deadline - time.monotonic())
            return [HostResult(op.id, ok=True, value=None) for op in ops]

    run("export default () => fastn.state.get('k')", DeadlineHost(), RunLimits(timeout_ms=2000))
    assert 1.5 < seen[0] <= 2.0


def test_host_that_uses_the_whole_budget_ends_the_run_as_a_timeout_at_the_deadline():
    class SlowHost:
        def perform(self, ops, *, deadline):
            time.sleep(max(0.0, deadline - time.monotonic()) + 0.02)
            return [HostResult(op.id, ok=True, value="late") for op in ops]

    started = time.monotonic()
    result = run("export default async () => await fastn.connector.crm.slow({})", SlowHost(), RunLimits(timeout_ms=500))
    assert result.status == "timeout"
    assert result.error["code"] == "timeout"
    assert result.output is None
    assert 0.5 <= time.monotonic() - started < 0.7


def test_late_results_from_a_host_that_overruns_are_discarded():
    class OverrunningHost:
        def perform(self, ops, *, deadline):
            time.sleep(max(0.0, deadline - time.monotonic()) + 0.3)
            return [HostResult(op.id, ok=True, value="late") for op in ops]

    result = run("export default async () => await fastn.state.get('k')", OverrunningHost(), RunLimits(timeout_ms=300))
    assert result.status == "timeout"
    assert result.output is None


def test_host_exception_fails_the_run_as_host_error():
    class BrokenHost:
        def perform(self, ops, *, deadline):
            raise ConnectionError("database is down")

    result = run(
        "export default async () => { try { await fastn.db.query('select 1') } catch (e) { return 'swallowed' } }",
        BrokenHost(),
    )
    assert result.status == "failed"
    assert result.error["code"] == "host_error"
    assert "ConnectionError: database is down" in result.error["message"]


def test_host_missing_a_result_fails_the_run_as_host_error():
    class ForgetfulHost:
        def perform(self, ops, *, deadline):
            return []

    result = run("export default () => fastn.state.get('k')", ForgetfulHost())
    assert result.error["code"] == "host_error"
    assert "no result for state.get" in result.error["message"]


def test_host_value_that_is_not_json_fails_the_run_as_host_error():
    class WeirdHost:
        def perform(self, ops, *, deadline):
            return [HostResult(op.id, ok=True, value=object()) for op in ops]

    assert run("export default () => fastn.state.get('k')", WeirdHost()).error["code"] == "host_error"


def test_a_thousand_sequential_calls_work():
    host = DictHost(state={("ORG", "k"): 1})
    code = """export default async () => {
      let total = 0;
      for (let i = 0; i < 1000; i++) total += await fastn.state.get('k');
      return total;
    }"""
    result = run(code, host, RunLimits(timeout_ms=5000))
    assert (result.output, result.ops, len(host.batches)) == (1000, 1000, 1000)
