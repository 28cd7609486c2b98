"""One settings class, read from the environment or a `.env` file."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.statuses import DeliveryMode, JoinMode

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# What Reframe needs in each workspace: read deal channels and mentions, answer
# privately or in threads, DM check-ins, the /reframe command, users' time zones.
DEFAULT_BOT_SCOPES = (
    "chat:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "app_mentions:read",
    "commands",
    "im:history",
    "im:write",
    "users:read",
)

# Slack ids: public/private channels (C…, G…) and people (U…, W… on Enterprise Grid).
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Everything the bot can be told. Secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Slack credentials: a single-workspace bot token, or OAuth client id/secret.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # Multi-workspace install (OAuth v2): the bot scopes asked for, where Slack
    # sends the installer back (must match a Redirect URL in the app config; None:
    # the one configured there), and the Fernet key that encrypts stored tokens.
    slack_scopes: Annotated[tuple[str, ...], NoDecode] = DEFAULT_BOT_SCOPES
    slack_install_redirect_url: str | None = None
    token_encryption_key: SecretStr | None = None
    # How long the install redirect waits for Slack's oauth.v2.access before it
    # shows the installer a "try again" page (their browser is waiting too).
    slack_oauth_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Retention: nudges and check-ins older than this are deleted by
    # `python -m bot data purge` (reps' settings stay until they forget-me).
    data_retention_days: int = Field(default=365, ge=1)

    database_url: str = "sqlite:///reframe.db"
    port: int = Field(default=3000, ge=1, le=65535)
    # The `web` role's gunicorn (bot/processes/gunicorn_conf.py): worker processes, threads in
    # each, and the seconds a stopping worker has to finish requests and deliveries.
    web_concurrency: int = Field(default=2, ge=1)
    web_threads: int = Field(default=8, ge=1)
    web_graceful_timeout: int = Field(default=30, ge=0)
    # Each worker on a CPU of its own: `auto` when there are at least as many workers as CPUs
    # (bot/processes/cpu_pinning.py), `on`, or `off`.
    web_cpu_pinning: Literal["auto", "on", "off"] = "auto"
    # A client must send its whole request (line, headers, body) this many seconds
    # after connecting, or it is disconnected: trickling clients cannot hold the
    # threads Slack's requests need (Slack waits 3 s for an answer).
    http_read_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    deal_channel_patterns: Annotated[tuple[str, ...], NoDecode] = ("deal-*", "deals-*")
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Nudges: never nag. A rep gets at most one nudge per channel per cooldown
    # window and at most `nudge_daily_limit` in any rolling 24 hours.
    nudge_channel_cooldown_hours: float = Field(default=4.0, ge=0)
    nudge_daily_limit: int = Field(default=3, ge=0)
    nudge_default_mode: DeliveryMode = DeliveryMode.EPHEMERAL
    # Slack Connect: people from another organisation in a shared channel are neither
    # nudged nor enrolled unless the workspace turns this on.
    nudge_external_members: bool = False
    # A nudge that could not be delivered within this many minutes is dropped
    # as stale (the record stays, marked expired): a question about a message
    # from an hour ago reads as nagging.
    nudge_delivery_window_minutes: int = Field(default=15, ge=1)

    # The scheduler's heartbeat, for deliveries that need a retry.
    scheduler_tick_seconds: int = Field(default=30, ge=1, le=3600)

    # Weekly check-ins: the workspace default, used where a rep chose nothing
    # (weekday: mon…sun or 0…6; time: HH:MM in the rep's own Slack time zone;
    # tz: for reps whose profile has none).
    checkin_default_weekday: int = 0
    checkin_default_time: str = "09:00"
    # How a rep who posts in a deal channel joins the weekly check-in: one private
    # invitation (invite), silently (auto), or only with `/reframe checkin on` (manual).
    checkin_join_mode: JoinMode = JoinMode.INVITE
    checkin_default_tz: str = "UTC"
    checkin_reminder_hours: float = Field(default=24.0, gt=0)
    checkin_max_attempts: int = Field(default=6, ge=1, le=50)
    # DMs sent at once per tick; they all pause together when Slack says 429.
    checkin_send_workers: int = Field(default=8, ge=1, le=64)
    # Check-in DMs and reminders per second per workspace, all scheduler
    # processes together: posts are spaced evenly at this rate instead of sent
    # in bursts. A 429 slows the pace by 5%; quiet minutes bring it back.
    checkin_post_rate: float = Field(default=10.0, gt=0, le=1000)

    # Team digest for managers, aggregate only (README, "Team digest"): posted to a
    # channel id and/or DMed to managers' user ids (neither: no digest), weekly at a
    # weekday and HH:MM in its own zone. Every figure needs `digest_min_reps` reps.
    digest_channel: str = ""
    digest_dm_users: Annotated[tuple[str, ...], NoDecode] = ()
    digest_weekday: int = 0
    digest_time: str = "12:00"
    digest_tz: str = "UTC"
    digest_min_reps: int = 5

    @field_validator("checkin_default_weekday", "digest_weekday", mode="before")
    @classmethod
    def _parse_checkin_weekday(cls, value: object) -> object:
        from bot.domain.schedule import ScheduleError, parse_weekday

        if isinstance(value, str | int):
            try:
                return parse_weekday(value)
            except ScheduleError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("checkin_default_time", "digest_time")
    @classmethod
    def _check_checkin_time(cls, value: str) -> str:
        from bot.domain.schedule import ScheduleError, format_time, parse_time

        try:
            return format_time(parse_time(value))
        except ScheduleError as error:
            raise ValueError(str(error)) from None

    @field_validator("checkin_default_tz", "digest_tz")
    @classmethod
    def _check_checkin_tz(cls, value: str) -> str:
        from bot.domain.schedule import is_valid_zone

        if not is_valid_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin")
        return value

    @field_validator("digest_channel")
    @classmethod
    def _check_digest_channel(cls, value: str) -> str:
        value = value.strip()
        if value and not _CHANNEL_ID.fullmatch(value):
            raise ValueError(
                "must be a channel id such as C0123ABCD (the channel's details, at the "
                "bottom), not its name"
            )
        return value

    @field_validator("digest_dm_users", mode="before")
    @classmethod
    def _split_digest_users(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, tuple | list):
            wrong = [str(user) for user in value if not _USER_ID.fullmatch(str(user))]
            if wrong:
                raise ValueError(
                    "must be user ids such as U0123ABCD, comma-separated (a profile's "
                    "menu: Copy member ID)"
                )
        return value

    @field_validator("digest_min_reps")
    @classmethod
    def _check_digest_min_reps(cls, value: int) -> int:
        from bot.domain.digest import MIN_K

        if value < MIN_K:
            raise ValueError(
                f"must be at least {MIN_K}: a figure from fewer reps could point at one person"
            )
        return value

    @field_validator("deal_channel_patterns", mode="before")
    @classmethod
    def _split_patterns(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip().lstrip("#").lower() for p in value.split(",") if p.strip())
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _check_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        from cryptography.fernet import Fernet

        keys = [part.strip() for part in value.get_secret_value().split(",") if part.strip()]
        try:
            for key in keys:
                Fernet(key)
        except (ValueError, TypeError):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError(
                "must be Fernet keys (32 url-safe base64 bytes each), comma-separated with "
                "the newest first; make one with "
                'python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a SQLAlchemy URL such as sqlite:///reframe.db")
        # Accept the plain scheme operators copy from their provider; we ship psycopg 3.
        for plain in ("postgres://", "postgresql://"):
            if value.startswith(plain):
                return "postgresql+psycopg://" + value[len(plain) :]
        return value

    @property
    def digest_destinations(self) -> tuple[str, ...]:
        """Where the team digest goes: the channel, then each manager's DM."""
        return ((self.digest_channel,) if self.digest_channel else ()) + self.digest_dm_users

    @property
    def uses_oauth(self) -> bool:
        return self.slack_bot_token is None and self.slack_client_id is not None

    def credential_problems(self) -> list[str]:
        """What is missing before the bot can talk to Slack (empty when ready)."""
        problems: list[str] = []
        secret = self.slack_signing_secret
        if secret is None or not secret.get_secret_value().strip():
            # Set but empty is as bad as unset: an HMAC with an empty key is one
            # anybody can compute, so every request could be forged.
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information > App Credentials)")
        if self.slack_bot_token is None and not (self.slack_client_id and self.slack_client_secret):
            problems.append(
                "SLACK_BOT_TOKEN is not set (OAuth & Permissions > Bot User OAuth Token, "
                "xoxb-...), nor SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace install"
            )
        if self.slack_bot_token is not None and self.slack_client_id and self.slack_client_secret:
            # Bolt itself switches to OAuth when it sees SLACK_CLIENT_ID/SECRET in
            # the environment and then ignores the bot token: make the choice explicit.
            problems.append(
                "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (multi-workspace install), not both"
            )
        token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else None
        if token is not None and not token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        app_token = self.slack_app_token.get_secret_value() if self.slack_app_token else None
        if app_token is not None and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        return problems


class SettingsError(Exception):
    """Raised with one message that names every problem in the configuration."""


def this_python() -> str:
    """How to name the interpreter running now in a command someone can paste: a bare
    `python` only when that is what PATH finds (in a venv, `.venv/bin/python`)."""
    running = os.path.realpath(sys.executable)
    found = shutil.which("python")
    if found is not None and os.path.realpath(found) == running:
        return "python"
    relative = os.path.relpath(sys.executable)
    return relative if not relative.startswith("..") else sys.executable


def offline_hint() -> str:
    python = this_python()
    return (
        "To try Reframe without Slack:\n"
        f'  {python} -m bot reframe "their CFO is a jerk, he\'ll never sign"\n'
        f'  echo \'{{"id": 1, "text": "no one over there ever answers"}}\' '
        f"| {python} -m bot classify"
    )


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's errors into one readable message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"  - {name}: {error['msg']}")
        raise SettingsError(
            "Reframe cannot start; fix these settings:\n" + "\n".join(lines)
        ) from None


def require_slack_credentials(settings: Settings) -> None:
    problems = settings.credential_problems()
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise SettingsError(
            "Reframe cannot connect to Slack; set these in the environment or .env:\n"
            f"{listed}\n(see README.md, 'Create the Slack app')\n\n{offline_hint()}"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def configure_logging(settings: Settings) -> None:
    from bot.observability.logs import configure_log_format

    logging.basicConfig(level=settings.log_level)
    logging.getLogger().setLevel(settings.log_level)
    configure_log_format(settings.log_format)
