"""Flow-graph extraction over workflows of many shapes: node kinds and edges.

Edges are compared as (source label, target label, kind, label) so each
assertion reads as the picture it describes.
"""

from apps.workflows.authoring.flowgraph import flow_graph
from apps.workflows.authoring.reference import ctx_paths, reference_markdown, workflow_reference

CONNECTORS = {
    "acme-crm": {"listContacts": "GET", "getContact": "GET", "createContact": "POST", "deleteContact": "DELETE"}
}


def graph(body: str, prefix: str = ""):
    return flow_graph(f"{prefix}\nexport default async function (ctx) {{\n{body}\n}}\n", connectors=CONNECTORS)


def edges(g) -> set[tuple[str, str, str, str]]:
    label = {n.id: n.label for n in g.nodes}
    return {(label[e.source], label[e.target], e.kind, e.label) for e in g.edges}


def kinds(g) -> list[tuple[str, str]]:
    return [(n.kind, n.label) for n in g.nodes]


def test_straight_line_merges_plain_statements_between_reads_and_writes():
    g = graph(
        """
  const id = ctx.input.id;
  const fields = "email";
  const contact = await fastn.connector['acme-crm'].getContact({id, fields});
  const created = await fastn.connector['acme-crm'].createContact({email: contact.email});
  return {created: created.id};"""
    )
    assert kinds(g) == [
        ("TRIGGER", "Trigger"),
        ("PROCESS", "const id = ctx.input.id (+1 more)"),
        ("READ", "acme-crm · getContact (GET)"),
        ("WRITE", "acme-crm · createContact (POST)"),
        ("DONE", "return {created}"),
    ]
    assert edges(g) == {
        ("Trigger", "const id = ctx.input.id (+1 more)", "next", ""),
        ("const id = ctx.input.id (+1 more)", "acme-crm · getContact (GET)", "next", ""),
        ("acme-crm · getContact (GET)", "acme-crm · createContact (POST)", "next", ""),
        ("acme-crm · createContact (POST)", "return {created}", "next", ""),
    }
    read = g.nodes[2]
    assert read.detail["params"] == ["id", "fields"] and read.detail["method"] == "GET"


def test_if_else_has_yes_and_no_branches_that_join():
    g = graph(
        """
  if (ctx.input.vip) {
    await fastn.connector['acme-crm'].createContact({tier: 'gold'});
  } else {
    console.log('regular');
  }
  return {ok: true};"""
    )
    assert ("DECISION", "if ctx.input.vip?") in kinds(g)
    assert edges(g) >= {
        ("if ctx.input.vip?", "acme-crm · createContact (POST)", "branch", "yes"),
        ("if ctx.input.vip?", "console.log('regular')", "branch", "no"),
        ("acme-crm · createContact (POST)", "return {ok}", "next", ""),
        ("console.log('regular')", "return {ok}", "next", ""),
    }


def test_if_without_else_continues_on_no():
    g = graph("if (ctx.input.x) { log(1); }\nreturn 1;")
    assert ("if ctx.input.x?", "return 1", "branch", "no") in edges(g)
    assert ("log(1)", "return 1", "next", "") in edges(g)


def test_early_return_is_a_done_reached_by_a_skip_path():
    g = graph(
        """
  if (!ctx.input.email) return {skipped: true};
  await fastn.connector['acme-crm'].createContact({email: ctx.input.email});
  return {created: true};"""
    )
    done = [n for n in g.nodes if n.kind == "DONE"]
    assert [(n.label, n.detail["early"]) for n in done] == [("return {skipped}", True), ("return {created}", False)]
    assert edges(g) >= {
        ("if !ctx.input.email?", "return {skipped}", "skip", "yes"),
        ("if !ctx.input.email?", "acme-crm · createContact (POST)", "branch", "no"),
    }


def test_switch_has_one_edge_per_case_with_fallthrough_and_no_match():
    g = graph(
        """
  switch (ctx.input.kind) {
    case 'lead':
    case 'prospect':
      await fastn.state.set('kind', 'new');
      break;
    case 'customer':
      await fastn.connector['acme-crm'].getContact({id: 1});
      break;
  }
  return null;"""
    )
    e = edges(g)
    assert ("DECISION", "switch (ctx.input.kind)") in kinds(g)
    assert ("switch (ctx.input.kind)", "state.set('kind')", "branch", "case 'prospect'") in e
    assert ("switch (ctx.input.kind)", "state.set('kind')", "branch", "case 'lead'") in e
    assert ("switch (ctx.input.kind)", "acme-crm · getContact (GET)", "branch", "case 'customer'") in e
    assert ("switch (ctx.input.kind)", "return null", "branch", "no match") in e
    assert ("state.set('kind')", "return null", "next", "") in e


def test_for_of_with_connector_calls_is_drawn_as_a_loop():
    g = graph(
        """
  const contacts = await fastn.connector['acme-crm'].listContacts({limit: 50});
  for (const c of contacts) {
    await fastn.connector['acme-crm'].deleteContact({id: c.id});
  }
  return {deleted: contacts.length};"""
    )
    header = next(n for n in g.nodes if n.detail.get("loop"))
    assert header.kind == "DECISION" and header.label == "for each c of contacts"
    assert edges(g) >= {
        ("acme-crm · listContacts (GET)", "for each c of contacts", "next", ""),
        ("for each c of contacts", "acme-crm · deleteContact (DELETE)", "branch", "each"),
        ("acme-crm · deleteContact (DELETE)", "for each c of contacts", "loop", "next"),
        ("for each c of contacts", "return {deleted}", "branch", "done"),
    }


def test_while_do_and_classic_for_loops_with_break_and_continue():
    g = graph(
        """
  let page = 1;
  while (true) {
    const rows = await fastn.db.query('SELECT * FROM t LIMIT 10', [page]);
    if (!rows.length) break;
    if (rows[0].skip) continue;
    page++;
  }
  for (let i = 0; i < 3; i++) { await fastn.state.delete('k' + i); }
  do { page--; } while (page > 0);
  return page;"""
    )
    e = edges(g)
    assert ("if !rows.length?", "for (i < 3)", "next", "yes") not in e
    assert ("if !rows.length?", "for (i < 3)", "branch", "yes") in e  # break leaves the loop
    assert ("if rows[0].skip?", "while (true)", "loop", "yes") in e  # continue goes round
    assert ("page++", "while (true)", "loop", "next") in e
    assert ("for (i < 3)", "state.delete(…)", "branch", "yes") in e
    assert ("state.delete(…)", "for (i < 3)", "loop", "next") in e
    assert ("do … while (page > 0)", "do", "loop", "again") in e
    assert ("do … while (page > 0)", "return page", "branch", "done") in e
    assert [n.kind for n in g.nodes if n.label.startswith(("db.", "state."))] == ["READ", "WRITE"]


def test_try_catch_draws_error_paths_from_each_call_to_the_catch():
    g = graph(
        """
  try {
    const c = await fastn.connector['acme-crm'].getContact({id: 1});
    await fastn.connector['acme-crm'].createContact({email: c.email});
  } catch (err) {
    console.error(err.message);
    return {failed: true};
  }
  return {ok: true};"""
    )
    e = edges(g)
    assert e >= {
        ("acme-crm · getContact (GET)", "catch (err)", "error", "error"),
        ("acme-crm · createContact (POST)", "catch (err)", "error", "error"),
        ("catch (err)", "console.error(err.message)", "next", ""),
        ("console.error(err.message)", "return {failed}", "skip", ""),
        ("acme-crm · createContact (POST)", "return {ok}", "next", ""),
    }


def test_throw_inside_try_goes_to_catch_and_uncaught_throw_ends_as_error():
    g = graph(
        """
  try {
    if (!ctx.input.id) throw new Error('id required');
  } catch (e) {
    throw new Error('wrapped: ' + e.message);
  } finally {
    await fastn.state.set('done', true);
  }"""
    )
    e = edges(g)
    assert ("throw new Error('id required')", "catch (e)", "error", "error") in e
    error_end = next(n for n in g.nodes if n.kind == "DONE" and n.detail.get("outcome") == "error")
    assert error_end.label.startswith("throw new Error('wrapped: '")
    assert ("catch (e)", error_end.label, "error", "") in e
    assert ("finally", "state.set('done')", "next", "") in e
    assert g.nodes[-1].label == "end (returns undefined)"


def test_promise_all_forks_and_joins():
    g = graph(
        """
  const [a, b, n] = await Promise.all([
    fastn.connector['acme-crm'].getContact({id: 1}),
    fastn.connector.call('acme-crm', 'listContacts', {limit: 5, offset: 0}),
    fastn.db.query('SELECT count(*) FROM seen'),
  ]);
  return {a, b, n};"""
    )
    e = edges(g)
    for target in (
        "acme-crm · getContact (GET)",
        "acme-crm · listContacts (GET)",
        "db.query: SELECT count(*) FROM seen",
    ):
        assert ("Trigger", target, "parallel", "parallel") in e
        assert (target, "return {a, b, n}", "next", "") in e
    lists = next(n for n in g.nodes if n.detail.get("action") == "listContacts")
    assert lists.detail["params"] == ["limit", "offset"]


def test_map_callbacks_inside_promise_all_are_marked_repeated():
    g = graph(
        """
  const ids = ctx.input.ids;
  await Promise.all(ids.map((id) => fastn.connector['acme-crm'].deleteContact({id})));"""
    )
    delete = next(n for n in g.nodes if n.kind == "WRITE")
    assert delete.detail["repeated"] is True and delete.label.endswith("(each)")


def test_nested_helper_functions_get_their_own_group_and_a_call_edge():
    g = graph(
        """
  async function enrich(contact) {
    const secret = await fastn.secrets.get('CLEARBIT_KEY');
    return {...contact, secret: !!secret};
  }
  const plain = (x) => x * 2;
  const c = await enrich({id: plain(1)});
  return c;"""
    )
    assert g.functions == ["enrich"]
    helper = [n for n in g.nodes if n.group == "enrich"]
    assert [(n.kind, n.label) for n in helper] == [
        ("PROCESS", "function enrich(contact)"),
        ("READ", "secrets.get('CLEARBIT_KEY')"),
        ("DONE", "return {...contact, secret}"),
    ]
    assert ("enrich(…)", "function enrich(contact)", "call", "calls") in edges(g)
    # A helper without runtime calls is plain code, not a sub-graph.
    assert not any(n.group == "plain" for n in g.nodes)


def test_module_level_helpers_and_aliases_are_recognised():
    g = flow_graph(
        """
const crm = fastn.connector['acme-crm'];
const { db, state } = fastn;
async function save(row) { return db.execute('INSERT INTO t VALUES ($1)', [row]); }
export default async function (ctx) {
  const list = await crm.listContacts();
  await save(list[0]);
  await state.set('count', list.length);
}
""",
        connectors=CONNECTORS,
    )
    assert ("READ", "acme-crm · listContacts (GET)") in kinds(g)
    assert ("WRITE", "db.execute: INSERT INTO t VALUES ($1)") in kinds(g)
    assert ("WRITE", "state.set('count')") in kinds(g)


def test_unknown_connectors_are_classified_by_the_actions_name():
    g = graph("await fastn.connector['github'].listIssues({repo: 'x'});\nawait fastn.connector.github.createIssue({});")
    by_action = {n.detail.get("action"): n for n in g.nodes if n.detail.get("op") == "connector.call"}
    assert by_action["listIssues"].kind == "READ" and by_action["listIssues"].detail["method_guessed"]
    assert by_action["createIssue"].kind == "WRITE"


def test_arrow_default_export_and_expression_body():
    g = flow_graph("export default async (ctx) => fastn.state.get('x');", connectors={})
    assert kinds(g) == [("TRIGGER", "Trigger"), ("READ", "state.get('x')"), ("DONE", "end (returns undefined)")]


def test_nested_branches_inside_a_loop_with_an_early_return():
    g = graph(
        """
  for (const order of ctx.input.orders) {
    if (order.total > 1000) {
      if (order.flagged) return {stopped: order.id};
      await fastn.connector['acme-crm'].createContact({email: order.email});
    } else {
      await fastn.state.set('small', order.id);
    }
  }
  return {done: true};"""
    )
    e = edges(g)
    assert ("if order.flagged?", "return {stopped}", "skip", "yes") in e
    assert ("acme-crm · createContact (POST)", "for each order of ctx.input.orders", "loop", "next") in e
    assert ("state.set('small')", "for each order of ctx.input.orders", "loop", "next") in e
    assert ("for each order of ctx.input.orders", "return {done}", "branch", "done") in e


def test_syntax_errors_are_listed_and_a_missing_default_export_is_said():
    g = flow_graph("export default async function (ctx) {\n  if (x {\n    return 1;\n}\n", connectors={})
    assert g.errors and g.errors[0]["line"] >= 1
    none = flow_graph("function main() {}", connectors={})
    assert none.errors[0]["message"] == "No `export default` function found."


def test_a_300_line_workflow_stays_a_readable_graph():
    body = []
    for i in range(60):
        body += [
            f"  const v{i} = ctx.input.values[{i}] ?? 0;",
            f"  const w{i} = v{i} * 2;",
            f"  if (w{i} > 10) {{",
            f"    await fastn.state.set('k{i}', w{i});",
            "  }",
        ]
    g = graph("\n".join(body) + "\n  return {ok: true};")
    assert 300 <= len("\n".join(body).splitlines()) + 3
    # Two statements per block merge into one node: 4 nodes a block, not 5+.
    assert len(g.nodes) <= 60 * 3 + 3
    assert sum(1 for n in g.nodes if n.kind == "DECISION") == 60


def test_ctx_paths_follow_destructuring_and_aliases():
    paths = ctx_paths(
        """
export default async function ({ input, headers }) {
  const { email, profile: { name } } = input;
  const region = headers['x-region'];
  return {a: input.user.id, items: input.items.map(String), name, email};
}"""
    )
    assert paths["input"] == ["email", "items", "profile.name", "user.id"]
    assert paths["headers"] == ["x-region"]


def test_reference_lists_inputs_calls_outputs_secrets_and_renders_markdown():
    code = """
export default async function (ctx) {
  if (!ctx.input.email) return {skipped: true};
  const key = await fastn.secrets.get('CRM_TOKEN');
  const c = await fastn.connector['acme-crm'].createContact({email: ctx.input.email, name: ctx.input.name});
  await fastn.db.execute('INSERT INTO seen (id) VALUES ($1)', [c.id]);
  return {id: c.id, created: true};
}"""
    connectors = {
        "acme-crm": {
            "name": "Acme CRM",
            "actions": {"createContact": {"method": "POST", "path": "/contacts", "parameters": ["email", "name"]}},
        }
    }
    workflow = {
        "slug": "sync",
        "name": "Sync",
        "tier": "standard",
        "timeout_ms": 900000,
        "retry_policy": {
            "enabled": True,
            "max_attempts": 3,
            "initial_interval_ms": 5000,
            "backoff_coefficient": 2,
            "max_interval_ms": 60000,
        },
        "version": 2,
    }
    triggers = [{"type": "webhook", "environment": "production", "enabled": True}]
    ref = workflow_reference(code=code, connectors=connectors, workflow=workflow, triggers=triggers)
    assert ref["inputs"] == ["email", "name"]
    assert ref["secrets"] == ["CRM_TOKEN"]
    [call] = ref["connectors"]
    assert (call["connector"], call["action"], call["method"], call["params"]) == (
        "acme-crm",
        "createContact",
        "POST",
        ["email", "name"],
    )
    assert [(o["keys"], o["early"]) for o in ref["outputs"]] == [(["skipped"], True), (["id", "created"], False)]
    markdown = reference_markdown(ref)
    assert "# Sync" in markdown and "`ctx.input.email`" in markdown and "`CRM_TOKEN`" in markdown
    assert "| `acme-crm` | `createContact` | POST | `email`, `name` |" in markdown
    assert "up to 3 attempts" in markdown and "webhook · environment production" in markdown
