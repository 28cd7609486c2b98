from __future__ import annotations

import os
import shutil
import sys

import pytest

from bot.config import (
    Settings,
    SettingsError,
    load_settings,
    require_slack_credentials,
    this_python,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "DATABASE_URL",
        "PORT",
        "DEAL_CHANNEL_PATTERNS",
        "LOG_LEVEL",
        "SLACK_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.port == 3000
    assert settings.deal_channel_patterns == ("deal-*", "deals-*")
    assert settings.database_url == "sqlite:///reframe.db"
    assert settings.slack_api_url == "https://slack.com/api/"


def test_reads_environment_and_splits_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEAL_CHANNEL_PATTERNS", " #Deal-* , opp-*,")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@h/db")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    settings = load_settings()
    assert settings.deal_channel_patterns == ("deal-*", "opp-*")
    assert settings.port == 8080
    assert settings.database_url == "postgresql+psycopg://u:p@h/db"
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"


def test_reads_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\n")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.port == 4000


def test_every_malformed_setting_is_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    monkeypatch.setenv("SLACK_API_URL", "ftp://nope")
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    for name in ("PORT", "LOG_LEVEL", "SLACK_API_URL"):
        assert name in message


def test_missing_credentials_name_every_problem_and_the_offline_way() -> None:
    with pytest.raises(SettingsError) as error:
        require_slack_credentials(Settings(_env_file=None))  # type: ignore[call-arg]
    message = str(error.value)
    assert "SLACK_SIGNING_SECRET" in message and "SLACK_BOT_TOKEN" in message
    # The interpreter that is running, as one can paste it (not a `python` that is no venv's).
    assert f"{this_python()} -m bot reframe" in message
    assert os.path.realpath(shutil.which(this_python()) or this_python()) == os.path.realpath(
        sys.executable
    )


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_signing_secret_is_a_missing_one(secret: str) -> None:
    # An HMAC keyed with nothing is one anybody can compute: every request forgeable.
    settings = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_signing_secret=secret)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        require_slack_credentials(settings)


def test_wrong_kind_of_token_is_refused() -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxp-user", slack_signing_secret="s")  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="xoxb-"):
        require_slack_credentials(settings)


def test_secrets_never_print() -> None:
    settings = Settings(
        _env_file=None, slack_bot_token="xoxb-secret-value", slack_signing_secret="shh"
    )  # type: ignore[call-arg]
    assert "xoxb-secret-value" not in repr(settings)
    assert "shh" not in str(settings)


def test_token_encryption_keys_may_be_listed_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", keys)
    assert load_settings().token_encryption_key is not None
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", f"{Fernet.generate_key().decode()},not-a-key")
    with pytest.raises(SettingsError) as problem:
        load_settings()
    assert "TOKEN_ENCRYPTION_KEY" in str(problem.value) and "not-a-key" not in str(problem.value)
