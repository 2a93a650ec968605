"""GitHub and Google sign-in are configured from the environment only."""

from fastn.settings import base


def test_providers_are_on_only_when_their_client_id_is_set(monkeypatch):
    monkeypatch.delenv("GITHUB_CLIENT_ID", raising=False)
    monkeypatch.delenv("GOOGLE_CLIENT_ID", raising=False)
    assert base.social_providers_from_env() == {}
    monkeypatch.setenv("GITHUB_CLIENT_ID", "gh-id")
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "gh-secret")
    providers = base.social_providers_from_env()
    assert set(providers) == {"github"}
    assert providers["github"]["APPS"][0] == {"client_id": "gh-id", "secret": "gh-secret", "key": ""}
