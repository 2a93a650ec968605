"""The SDKs' tests that need no server (argument checks, error mapping, the
form validator, the widget's token rules)."""

from tests.embed_ui.node import run_node_tests


def test_js_client_unit_tests_pass():
    output = run_node_tests("js", ["test/unit.test.mjs"])
    assert "# fail 0" in output or "fail 0" in output
