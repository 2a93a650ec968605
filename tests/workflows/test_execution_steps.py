"""Executions record their runtime steps (the Sequence view's data) on real workers."""

import pytest

pytestmark = [pytest.mark.workers]

CODE = """
export default async function (ctx) {
  const token = await fastn.secrets.get('API_TOKEN');
  await fastn.state.set('cursor', 41);
  const [cursor, rows] = await Promise.all([
    fastn.state.get('cursor'),
    fastn.db.query('SELECT $1::int + 1 AS next', [41]),
  ]);
  try { await fastn.connector['nowhere'].ping({token}); } catch (e) {}
  console.log('token is', token);
  return {cursor, next: rows[0].next};
}
"""


def test_each_runtime_call_is_a_step_in_start_order_with_duration_and_status(celery_workers, live_org, deploy, api):
    org = live_org()
    api(org).post("/api/v1/secrets", {"name": "API_TOKEN", "value": "tok-secret-98765"})
    wf = deploy(org, CODE)
    body = wf.run({}).json()
    assert body["status"] == "completed", body
    detail = wf.execution(body["execution_id"])
    steps = detail["steps"]
    assert [(s["op"], s["target"]) for s in steps[:2]] == [("secrets.get", "API_TOKEN"), ("state.set", "cursor")]
    # The two calls of one Promise.all start together; both come before the connector call.
    assert {(s["op"], s["target"]) for s in steps[2:4]} == {("state.get", "cursor"), ("db.query", "db.query")}
    assert steps[4]["op"] == "connector.call" and steps[4]["target"] == "nowhere.ping"
    assert steps[4]["ok"] is False and steps[4]["error"]["code"]
    db = next(s for s in steps if s["op"] == "db.query")
    assert db["detail"] == "SELECT $1::int + 1 AS next" and db["ok"] is True
    assert all(s["duration_ms"] >= 0 and s["at_ms"] >= 0 for s in steps)
    assert [s["at_ms"] for s in steps] == sorted(s["at_ms"] for s in steps)
    # Steps hold names, never values: the secret is nowhere in them.
    assert "tok-secret-98765" not in str(steps)
