"""Multi-workspace installs: where each workspace's bot token lives, sealed at rest,
and how the rest of the bot gets a Web API client for a given team.

slack-sdk's SQLAlchemy stores run on our engine and our tables (created by
Alembic, never by their `create_tables()`); this module only adds encryption
and a short-lived per-team cache on top.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from logging import Logger
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, desc

from bot.caches import TeamCache
from bot.config import Settings
from bot.domain.clock import Clock
from bot.slack.client import build_web_client

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

log = logging.getLogger(__name__)

# The columns that hold credentials, on both Installation and Bot.
SECRET_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# Slack's tokens all start like this; a stored value that does is from before
# encryption was switched on, and is still usable.
PLAIN_TOKEN_PREFIX = "xox"
OAUTH_STATE_SECONDS = 600
# Workspaces whose Web API client this process keeps (the least recently used go first).
CLIENT_CACHE_MAX_TEAMS = 1_000

# The install code exchange's client logs here. The SDK's own error line for a call
# that failed is dropped: PatientInstallFlow says it once, with what to do.
_EXCHANGE_LOG = logging.getLogger("slack_sdk.web.install_exchange")
_EXCHANGE_LOG.addFilter(
    lambda record: not record.getMessage().startswith("Failed to send a request to Slack")
)

Record = TypeVar("Record", Installation, Bot)


class TokenCipher:
    """Fernet encryption for tokens at rest. Without a key it passes values through.

    `key` may list several keys, comma-separated, newest first: tokens are sealed with
    the first and opened with whichever fits, so a key can be rotated without making
    every workspace reinstall (re-save, or reinstall, to move tokens to the new key).
    """

    def __init__(self, key: str | None) -> None:
        keys = [part.strip() for part in (key or "").split(",") if part.strip()]
        self._fernet: MultiFernet | None = None
        if keys:
            # Imported only with a key: most installs never encrypt, and it is 3 MB.
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(k) for k in keys])

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, value: str | None) -> str | None:
        if value is None or self._fernet is None:
            return value
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str | None) -> str | None:
        if value is None:
            return value
        if self._fernet is None:
            if value.startswith(PLAIN_TOKEN_PREFIX):
                return value
            # Sealed while a key was set: never hand Slack the ciphertext as a token.
            log.error("a stored Slack token is encrypted but TOKEN_ENCRYPTION_KEY is not set")
            return None
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            if value.startswith(PLAIN_TOKEN_PREFIX):
                return value  # saved before TOKEN_ENCRYPTION_KEY was set
            # A different key (rotated without re-encrypting): the workspace
            # must reinstall. Say so without printing anything of the value.
            log.error(
                "a stored Slack token cannot be decrypted with any key in TOKEN_ENCRYPTION_KEY"
            )
            return None


class EncryptedInstallationStore(InstallationStore):
    """slack-sdk's SQLAlchemy store, with every token sealed on save and opened on find.

    A wrapper rather than a subclass: the inner store's `save` calls its own
    `save_bot`, so sealing in overridden methods would seal twice.
    """

    def __init__(self, inner: SQLAlchemyInstallationStore, cipher: TokenCipher) -> None:
        self._inner = inner
        self._cipher = cipher

    @property
    def encrypts(self) -> bool:
        return self._cipher.enabled

    @property
    def logger(self) -> Logger:
        return self._inner.logger

    def save(self, installation: Installation) -> None:
        self._inner.save(self._apply(installation, self._cipher.seal))

    def save_bot(self, bot: Bot) -> None:
        self._inner.save_bot(self._apply(bot, self._cipher.seal))

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = self._inner.find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if bot is None else self._apply(bot, self._cipher.open)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = self._inner.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else self._apply(found, self._cipher.open)

    def find_bot_for_team(self, team_id: str) -> Bot | None:
        """The newest bot token for a workspace, whether or not it belongs to an
        Enterprise Grid org: our services know only the team id."""
        bots = self._inner.bots
        query = (
            bots.select()
            .where(
                bots.c.client_id == self._inner.client_id,
                bots.c.team_id == team_id,
                bots.c.bot_token.is_not(None),
            )
            .order_by(desc(bots.c.installed_at))
            .limit(1)
        )
        with self._inner.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return self._apply(self._inner.build_bot_entity(row), self._cipher.open)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._inner.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self._inner.delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    @staticmethod
    def _apply(record: Record, transform: Callable[[str | None], str | None]) -> Record:
        """A copy of the record with each token field transformed (never mutate
        the caller's object: Bolt keeps using the installation it saved)."""
        copied = _copy_record(record)
        for name in SECRET_FIELDS:
            if hasattr(copied, name):
                setattr(copied, name, transform(getattr(copied, name)))
        return copied


def _copy_record(record: Record) -> Record:
    # Installation and Bot are plain classes whose state is all in __dict__;
    # a shallow copy of that is a faithful, independent copy.
    copied = object.__new__(type(record))
    copied.__dict__.update(record.__dict__)
    return copied


def build_installation_store(
    *, engine: Engine, client_id: str, encryption_key: str | None
) -> EncryptedInstallationStore:
    inner = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    return EncryptedInstallationStore(inner, TokenCipher(encryption_key))


def build_oauth_settings(
    *,
    engine: Engine,
    client_id: str,
    client_secret: str,
    scopes: tuple[str, ...],
    redirect_uri: str | None,
    installation_store: InstallationStore,
) -> OAuthSettings:
    """Bolt's OAuth v2 flow at /slack/install and /slack/oauth_redirect."""
    settings = OAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(scopes),
        user_scopes=[],
        redirect_uri=redirect_uri,
        installation_store=installation_store,
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=OAUTH_STATE_SECONDS, engine=engine
        ),
    )
    generator = settings.authorize_url_generator
    settings.authorize_url_generator = TeamCheckingAuthorizeUrlGenerator(
        client_id=generator.client_id,
        redirect_uri=generator.redirect_uri,
        scopes=generator.scopes,
        user_scopes=generator.user_scopes,
        authorization_url=generator.authorization_url,
    )
    return settings


_TEAM_ID = re.compile(r"T[A-Z0-9]{1,31}")


class TeamCheckingAuthorizeUrlGenerator(AuthorizeUrlGenerator):
    """`/slack/install?team=T…` preselects a workspace; the SDK copies the value into the
    authorize URL unencoded, so `team=T1%26scope%3Dadmin` could add scopes. Only a team id
    passes; anything else is dropped (the installer then picks the workspace in Slack)."""

    def generate(self, state: str, team: str | None = None) -> str:
        if team is not None and not _TEAM_ID.fullmatch(team):
            log.warning("ignored a team parameter that is not a Slack team id")
            team = None
        return super().generate(state, team=team)


class SlackDidNotAnswer(Exception):
    """oauth.v2.access (or the auth.test after it) timed out or could not connect."""


class PatientInstallFlow(OAuthFlow):
    """Bolt's OAuth flow, with an answer for the installer when Slack does not answer.

    Bolt handles Slack's refusals (a bad or reused code) but lets a timeout or a
    refused connection escape, and the installer got an error or a dropped
    connection. Here they get a page that says what happened and links back to the
    install page (the state was spent: the next try needs a fresh one).
    """

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._timeout = timeout

    def run_installation(self, code: str) -> Installation | None:
        try:
            return super().run_installation(code)
        except (SlackClientError, OSError) as error:  # SlackApiError is Bolt's, above
            raise SlackDidNotAnswer(type(error).__name__) from error

    def handle_callback(self, request: BoltRequest) -> BoltResponse:
        try:
            return super().handle_callback(request)
        except SlackDidNotAnswer as problem:
            cause = problem.__cause__
            # urllib reports a connect timeout as URLError(reason=timeout).
            timed_out = isinstance(cause, TimeoutError) or isinstance(
                getattr(cause, "reason", None), TimeoutError
            )
            what = f"did not answer within {self._timeout:g}s" if timed_out else "failed"
            # No code, state or secret: only what an operator needs to see.
            log.warning(
                "an install did not finish: Slack's oauth.v2.access %s (%s); the installer "
                "was asked to try again",
                what,
                problem,
            )
            return BoltResponse(
                status=504 if timed_out else 502,
                body=install_not_finished_page(self.install_path, timed_out=timed_out),
                headers={"Content-Type": "text/html; charset=utf-8"},
            )


def install_not_finished_page(install_path: str, *, timed_out: bool) -> str:
    what = "Slack did not answer in time" if timed_out else "Reframe could not reach Slack"
    return f"""<!doctype html>
<html>
<head><meta charset="utf-8"><title>Reframe is not installed yet</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5">
<h2>Reframe is not installed yet</h2>
<p>{html.escape(what)} while Reframe was finishing the install, so nothing was
saved and nothing changed in your workspace.</p>
<p>Please <a href="{html.escape(install_path)}">try installing again</a>. If it keeps
happening, Slack may be having trouble: check
<a href="https://slack-status.com">slack-status.com</a> and try again later.</p>
</body>
</html>
"""


class WorkspaceNotInstalled(SlackClientError):
    """No usable bot token is stored for this team (never installed, or uninstalled)."""


class TeamClients:
    """A Web API client per team, with that team's bot token from the installation store.

    Tokens are cached briefly so a burst of messages costs one database read,
    while an uninstall (which calls `forget`) or a reinstall elsewhere is seen
    within `ttl` by every process.
    """

    def __init__(
        self,
        *,
        store: EncryptedInstallationStore,
        clock: Clock,
        make_client: Callable[[str], WebClient],
        ttl: timedelta = timedelta(seconds=60),
    ) -> None:
        self._store = store
        self._make_client = make_client
        self._cache: TeamCache[WebClient] = TeamCache(
            maxsize=CLIENT_CACHE_MAX_TEAMS, ttl=ttl, clock=clock
        )

    def client_for(self, team_id: str) -> WebClient:
        cached = self._cache.get((team_id,))
        if cached is not None:
            return cached
        bot = self._store.find_bot_for_team(team_id)
        if bot is None or not bot.bot_token:
            raise WorkspaceNotInstalled(f"Reframe is not installed in workspace {team_id}")
        client = self._make_client(bot.bot_token)
        self._cache.put((team_id,), client)
        return client

    def forget(self, team_id: str) -> None:
        self._cache.forget(team_id)


def single_workspace(client: WebClient) -> Callable[[str], WebClient]:
    """The one bot token's client, whatever the team (SLACK_BOT_TOKEN mode)."""

    def client_for(_team_id: str) -> WebClient:
        return client

    return client_for


@dataclasses.dataclass(frozen=True, slots=True)
class SlackAccess:
    """How this process reaches Slack, in either install mode.

    `background` / `interactive` give the gateway a client for a team;
    the rest is what the Bolt app needs (all None in single-workspace mode).
    """

    app_client: WebClient
    background: Callable[[str], WebClient]
    interactive: Callable[[str], WebClient]
    installation_store: EncryptedInstallationStore | None = None
    oauth_flow: OAuthFlow | None = None
    authorize: InstallationStoreAuthorize | None = None
    forget_team: Callable[[str], None] = lambda _team_id: None


def build_slack_access(settings: Settings, *, engine: Engine, clock: Clock) -> SlackAccess:
    base_url = settings.slack_api_url
    if not settings.uses_oauth:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        background = build_web_client(token=token, base_url=base_url)
        interactive = build_web_client(token=token, base_url=base_url, timeout=3, patient=False)
        return SlackAccess(
            app_client=background,
            background=single_workspace(background),
            interactive=single_workspace(interactive),
        )
    return _oauth_access(settings, engine=engine, clock=clock)


def _oauth_access(settings: Settings, *, engine: Engine, clock: Clock) -> SlackAccess:
    client_id = settings.slack_client_id or ""
    client_secret = _secret(settings.slack_client_secret)
    base_url = settings.slack_api_url
    store = build_installation_store(
        engine=engine,
        client_id=client_id,
        encryption_key=_secret(settings.token_encryption_key) or None,
    )
    if not store.encrypts:
        log.warning("TOKEN_ENCRYPTION_KEY is not set: workspace tokens are stored unencrypted")
    # Bolt's own client carries no token: Bolt gives each request a copy with the
    # token `authorize` found for that request's team.
    app_client = build_web_client(token=None, base_url=base_url)
    background = TeamClients(
        store=store,
        clock=clock,
        make_client=lambda token: build_web_client(token=token, base_url=base_url),
    )
    interactive = TeamClients(
        store=store,
        clock=clock,
        make_client=lambda token: build_web_client(
            token=token, base_url=base_url, timeout=3, patient=False
        ),
    )

    def forget_team(team_id: str) -> None:
        background.forget(team_id)
        interactive.forget(team_id)

    return SlackAccess(
        app_client=app_client,
        background=background.client_for,
        interactive=interactive.client_for,
        installation_store=store,
        oauth_flow=PatientInstallFlow(
            settings=build_oauth_settings(
                engine=engine,
                client_id=client_id,
                client_secret=client_secret,
                scopes=settings.slack_scopes,
                redirect_uri=settings.slack_install_redirect_url,
                installation_store=store,
            ),
            # Its own client: the installer's browser waits on this call, and a
            # code must not be retried once sent (Slack may have spent it).
            client=build_web_client(
                token=None,
                base_url=base_url,
                timeout=settings.slack_oauth_timeout_seconds,
                patient=False,
                logger=_EXCHANGE_LOG,
            ),
            logger=logging.getLogger("slack_bolt.OAuthFlow"),
            timeout=settings.slack_oauth_timeout_seconds,
        ),
        # auth.test once per token, not once per request: a token that is
        # revoked disappears from the store, which is looked up every time.
        authorize=InstallationStoreAuthorize(
            logger=logging.getLogger("slack_bolt.authorize"),
            installation_store=store,
            client_id=client_id,
            client_secret=client_secret,
            bot_only=True,
            cache_enabled=True,
            client=app_client,
        ),
        forget_team=forget_team,
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
