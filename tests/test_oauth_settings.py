"""Settings for multi-workspace install, token encryption and retention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import DEFAULT_BOT_SCOPES, SettingsError, load_settings

NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "TOKEN_ENCRYPTION_KEY",
    "SLACK_INSTALL_REDIRECT_URL",
    "DATA_RETENTION_DAYS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_ask_for_the_scopes_reframe_uses() -> None:
    settings = load_settings()
    assert settings.slack_scopes == DEFAULT_BOT_SCOPES
    assert {"chat:write", "commands", "im:write", "users:read"} <= set(settings.slack_scopes)
    assert settings.token_encryption_key is None
    assert settings.data_retention_days == 365


def test_oauth_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "sig")
    monkeypatch.setenv("SLACK_SCOPES", "chat:write, commands,")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", key)
    monkeypatch.setenv("SLACK_INSTALL_REDIRECT_URL", "https://reframe.example/slack/oauth_redirect")
    settings = load_settings()
    assert settings.uses_oauth
    assert settings.slack_scopes == ("chat:write", "commands")
    assert settings.token_encryption_key is not None
    assert settings.token_encryption_key.get_secret_value() == key
    assert key not in repr(settings)
    assert settings.credential_problems() == []


def test_a_malformed_encryption_key_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "not-a-real-key-but-secret-anyway")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "TOKEN_ENCRYPTION_KEY" in str(error.value)
    assert "Fernet" in str(error.value)
    assert "not-a-real-key" not in str(error.value)


def test_bot_token_and_client_credentials_together_are_a_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "sig")
    problems = load_settings().credential_problems()
    assert any("not both" in problem for problem in problems)


def test_retention_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match="DATA_RETENTION_DAYS"):
        load_settings()


def test_default_scopes_match_the_app_manifest() -> None:
    # The install asks for exactly what the manifest declares: asking for less
    # breaks features, asking for more makes admins hesitate to approve.
    manifest = json.loads((Path(__file__).resolve().parents[1] / "manifest.json").read_text())
    assert sorted(DEFAULT_BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
