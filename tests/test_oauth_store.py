"""The installation store wrapper (tokens sealed at rest) and the per-team clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from bot.domain.clock import FixedClock
from bot.slack.installation import (
    EncryptedInstallationStore,
    TeamClients,
    WorkspaceNotInstalled,
    build_installation_store,
)
from bot.storage.db import Database
from bot.storage.models import bots_table, installations_table

CLIENT_ID = "1111.2222"
TOKEN = "xoxb-1111-2222-abcdefghijklmnopqrstuvwx"
REFRESH = "xoxe-1-refreshtokenvalue"


def installation(team_id: str = "T0ONE", token: str = TOKEN) -> Installation:
    return Installation(
        app_id="A0APP",
        enterprise_id=None,
        team_id=team_id,
        bot_token=token,
        bot_id="B0BOT",
        bot_user_id="UBOT",
        bot_scopes="chat:write,commands",
        bot_refresh_token=REFRESH,
        user_id="U0INSTALLER",
    )


def store(db: Database, key: str | None) -> EncryptedInstallationStore:
    return build_installation_store(engine=db.engine, client_id=CLIENT_ID, encryption_key=key)


def raw_columns(db: Database) -> list[str | None]:
    with db.engine.connect() as connection:
        values: list[str | None] = []
        for table in (bots_table, installations_table):
            rows = connection.execute(select(table.c.bot_token, table.c.bot_refresh_token)).all()
            values += [value for row in rows for value in row]
    return values


def test_tokens_are_sealed_at_rest_and_opened_on_find(db: Database) -> None:
    sealed = store(db, Fernet.generate_key().decode())
    original = installation()

    sealed.save(original)

    stored = raw_columns(db)
    assert len(stored) == 4 and all(stored)
    assert not any(TOKEN in value or REFRESH in value for value in stored if value)
    assert original.bot_token == TOKEN  # the caller's object is left alone
    bot = sealed.find_bot(enterprise_id=None, team_id="T0ONE")
    assert bot is not None and (bot.bot_token, bot.bot_refresh_token) == (TOKEN, REFRESH)
    found = sealed.find_installation(enterprise_id=None, team_id="T0ONE")
    assert found is not None and found.bot_token == TOKEN
    assert sealed.find_bot_for_team("T0ONE").bot_token == TOKEN  # type: ignore[union-attr]


def test_without_a_key_tokens_are_stored_as_slack_gave_them(db: Database) -> None:
    plain = store(db, None)
    plain.save(installation())
    assert TOKEN in raw_columns(db)
    assert plain.find_bot(enterprise_id=None, team_id="T0ONE").bot_token == TOKEN  # type: ignore[union-attr]


def test_tokens_saved_before_encryption_was_switched_on_still_work(db: Database) -> None:
    store(db, None).save(installation())
    later = store(db, Fernet.generate_key().decode())
    assert later.find_bot(enterprise_id=None, team_id="T0ONE").bot_token == TOKEN  # type: ignore[union-attr]


def test_a_token_sealed_with_another_key_is_not_used(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store(db, Fernet.generate_key().decode()).save(installation())
    other = store(db, Fernet.generate_key().decode())
    bot = other.find_bot(enterprise_id=None, team_id="T0ONE")
    assert bot is not None and bot.bot_token is None
    assert "cannot be decrypted" in caplog.text
    assert TOKEN not in caplog.text


def test_a_key_can_be_rotated_without_a_reinstall(db: Database) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store(db, old).save(installation())
    rotated = store(db, f"{new}, {old}")  # newest first
    assert rotated.find_bot(enterprise_id=None, team_id="T0ONE").bot_token == TOKEN  # type: ignore[union-attr]
    rotated.save(installation(team_id="T0TWO"))
    only_new = store(db, new)
    assert only_new.find_bot(enterprise_id=None, team_id="T0TWO").bot_token == TOKEN  # type: ignore[union-attr]


def test_removing_the_key_never_sends_ciphertext_as_a_token(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store(db, Fernet.generate_key().decode()).save(installation())
    keyless = store(db, None)
    bot = keyless.find_bot(enterprise_id=None, team_id="T0ONE")
    assert bot is not None and bot.bot_token is None and bot.bot_refresh_token is None
    assert "TOKEN_ENCRYPTION_KEY is not set" in caplog.text
    assert TOKEN not in caplog.text


def test_delete_all_removes_one_workspace_only(db: Database) -> None:
    sealed = store(db, Fernet.generate_key().decode())
    sealed.save(installation("T0ONE"))
    sealed.save(installation("T0TWO", token="xoxb-two"))

    sealed.delete_all(enterprise_id=None, team_id="T0ONE")

    assert sealed.find_bot(enterprise_id=None, team_id="T0ONE") is None
    assert sealed.find_installation(enterprise_id=None, team_id="T0ONE") is None
    assert sealed.find_bot(enterprise_id=None, team_id="T0TWO").bot_token == "xoxb-two"  # type: ignore[union-attr]


def test_team_clients_use_each_teams_token_and_cache_it_briefly(
    db: Database, clock: FixedClock
) -> None:
    sealed = store(db, Fernet.generate_key().decode())
    sealed.save(installation("T0ONE", token="xoxb-one"))
    sealed.save(installation("T0TWO", token="xoxb-two"))
    made: list[str] = []

    def make_client(token: str) -> WebClient:
        made.append(token)
        return WebClient(token=token)

    clients = TeamClients(
        store=sealed, clock=clock, make_client=make_client, ttl=timedelta(seconds=60)
    )

    assert clients.client_for("T0ONE").token == "xoxb-one"
    assert clients.client_for("T0TWO").token == "xoxb-two"
    assert clients.client_for("T0ONE").token == "xoxb-one"
    assert made == ["xoxb-one", "xoxb-two"]  # the second T0ONE came from the cache

    sealed.save(installation("T0ONE", token="xoxb-one-reinstalled"))
    assert clients.client_for("T0ONE").token == "xoxb-one"  # still cached
    clock.advance(timedelta(seconds=61))
    assert clients.client_for("T0ONE").token == "xoxb-one-reinstalled"


def test_team_clients_refuse_a_team_without_an_installation(
    db: Database, clock: FixedClock
) -> None:
    sealed = store(db, None)
    sealed.save(installation("T0ONE"))
    clients = TeamClients(store=sealed, clock=clock, make_client=lambda t: WebClient(token=t))
    clients.client_for("T0ONE")

    sealed.delete_all(enterprise_id=None, team_id="T0ONE")
    clients.forget("T0ONE")

    with pytest.raises(WorkspaceNotInstalled):
        clients.client_for("T0ONE")
    with pytest.raises(WorkspaceNotInstalled):
        clients.client_for("T0NEVER")


def test_long_rotating_tokens_fit_once_sealed(db: Database) -> None:
    # Rotating tokens are far longer than classic ones; sealed, ~2.5 times more.
    long_token = "xoxe.xoxb-1-" + "M" * 160
    sealed = store(db, Fernet.generate_key().decode())
    sealed.save(installation(token=long_token))
    assert all(len(value) > 200 for value in raw_columns(db)[:1] if value)
    assert sealed.find_bot(enterprise_id=None, team_id="T0ONE").bot_token == long_token  # type: ignore[union-attr]
