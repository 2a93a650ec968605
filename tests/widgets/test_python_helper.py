"""sdk/python/fastn_embed.py against a real server: mint, use, revoke."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "sdk" / "python"))

from fastn_embed import FastnEmbed, FastnError  # noqa: E402


def test_the_python_helper_mints_and_revokes_sessions(live_org, web_server):
    import json
    import urllib.error
    import urllib.request

    org = live_org()
    fastn = FastnEmbed(web_server, account_id=org.account_id, api_key=org.keys["live"])
    fastn.create_customer("py-user@acme", "Py User")
    session = fastn.create_session("py-user@acme", ttl_seconds=600, allowed_origin="https://app.example.com")
    assert session["token"].startswith("fastn_cs_") and session["customer"]["external_id"] == "py-user@acme"

    def config():
        request = urllib.request.Request(
            f"{web_server}/api/v1/embed/config", headers={"Authorization": f"Bearer {session['token']}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    assert config()["customer"]["name"] == "Py User"
    fastn.revoke_sessions("py-user@acme")
    with pytest.raises(urllib.error.HTTPError) as refused:
        config()
    assert refused.value.code == 401

    with pytest.raises(FastnError) as bad:
        fastn.create_session("py-user@acme", ttl_seconds=5)
    assert (
        bad.value.status == 400 and bad.value.code == "invalid_input" and "ttl_seconds" in bad.value.details["fields"]
    )
    with pytest.raises(FastnError) as missing:
        fastn.create_session("nobody")
    assert missing.value.status == 404 and missing.value.code == "customer_not_found"
    with pytest.raises(FastnError) as wrong_key:
        FastnEmbed(web_server, account_id=org.account_id, api_key="fastn_live_wrong").create_session("py-user@acme")
    assert wrong_key.value.status == 401
