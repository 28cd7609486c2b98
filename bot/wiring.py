"""The composition root: read settings once, build every part, wire them together.

Nothing else in the package constructs engines, clients or services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.cooldown import CooldownPolicy
from bot.domain.questions import QuestionLibrary
from bot.domain.schedule import WeeklySchedule, parse_time
from bot.domain.workspace_settings import WorkspaceConfig
from bot.observability import metrics
from bot.observability.logs import ObservedWSGI
from bot.processes.scheduler import Job, build_scheduler
from bot.processes.web import ReframeWSGI
from bot.services.background import BackgroundWork
from bot.services.channels import ChannelDirectory
from bot.services.checkins import CheckinDelivery, CheckinService
from bot.services.digest import DigestConfig, DigestService
from bot.services.nudges import NudgeService
from bot.services.privacy import PrivacyService
from bot.services.reframe import ReframeService
from bot.services.workspace_settings import WorkspaceSettingsService
from bot.slack.app import build_bolt_app
from bot.slack.checkin_blocks import CheckinContent, build_home_view, build_welcome_home_view
from bot.slack.checkin_client import SlackCheckins
from bot.slack.client import SlackGateway, build_web_client
from bot.slack.commands import CommandRouter
from bot.slack.digest_blocks import DigestWording
from bot.slack.digest_client import SlackDigests
from bot.slack.installation import build_slack_access
from bot.slack.listeners import actions, commands, events
from bot.slack.listeners import checkins as checkin_listeners
from bot.slack.listeners import privacy as privacy_listeners
from bot.slack.listeners import settings as settings_listeners
from bot.slack.settings_blocks import build_settings_home_blocks
from bot.storage.db import Database
from bot.storage.pacing import SharedPostPacer

if TYPE_CHECKING:
    # Alembic and APScheduler are imported where they run (migrations, the scheduler):
    # a web worker needs neither (tests/test_footprint.py).
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

RETENTION_EVERY_SECONDS = 6 * 60 * 60
# Check-in posts: their own timeout, and no retries by the client (see SlackCheckins).
CHECKIN_CLIENT_TIMEOUT = 10


@dataclass
class Reframe:
    """Everything one process needs, built and wired."""

    settings: Settings
    clock: Clock
    db: Database
    library: QuestionLibrary
    channels: ChannelDirectory
    nudges: NudgeService
    reframe: ReframeService
    privacy: PrivacyService
    checkins: CheckinService
    router: CommandRouter
    bolt: App
    wsgi: ObservedWSGI
    background: BackgroundWork  # nudge and check-in deliveries
    after_ack: BackgroundWork  # listeners' Web API calls, after Slack has its answer
    jobs: list[Job] = field(default_factory=list)
    scheduler: BackgroundScheduler | None = None
    digests: DigestService | None = None  # the managers' weekly team digest

    def start_scheduler(self) -> None:
        if self.scheduler is None:
            self.scheduler = build_scheduler(self.jobs)
            self.scheduler.start()
            log.info("scheduler started: %s", ", ".join(job.name for job in self.jobs))

    def scheduler_running(self) -> bool:
        """Liveness of a process whose work is the scheduler's."""
        return self.scheduler is not None and self.scheduler.running

    def run_jobs_once(self) -> None:
        """One tick of every scheduled job, now (tests and the command line)."""
        for job in self.jobs:
            job.run()

    def shutdown(self) -> None:
        """Stop promptly (SIGTERM leaves seconds, not minutes): finish the posts in
        hand, take no more, then let go of threads and connections. Everything not
        sent is pending in the database for the next process."""
        self.checkins.delivery.stop()
        self.nudges.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        # Replies after an ack are few and short (a view, an update): let them finish.
        self.after_ack.shutdown(wait=True)
        self.background.shutdown(wait=True, cancel_futures=True)
        self.db.dispose()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_migrations: bool = True,
    db: Database | None = None,
) -> Reframe:
    clock = clock or SystemClock()
    db = db or connect(settings)
    if run_migrations:
        from bot.storage import migrate

        migrate.upgrade(db.engine)
    library = QuestionLibrary.load()

    # One bot token, or (OAuth) each workspace's token from the installation store.
    slack = build_slack_access(settings, engine=db.engine, clock=clock)
    # What each workspace's admins chose in App Home, over the environment's defaults.
    workspace = WorkspaceSettingsService(db=db, clock=clock, defaults=workspace_defaults(settings))
    gateway = SlackGateway(
        background=slack.background,
        interactive=slack.interactive,
        visible_policy=lambda team_id: workspace.effective(team_id).visible_mode_by,
    )

    channels = ChannelDirectory(
        db=db,
        clock=clock,
        names=gateway,
        patterns=settings.deal_channel_patterns,
        default_mode=settings.nudge_default_mode,
        patterns_for=lambda team_id: workspace.effective(team_id).deal_channel_patterns,
    )
    checkin_content = CheckinContent.load()
    checkin_slack = SlackCheckins(
        client_for=slack.background,
        content=checkin_content,
        make_client=lambda token, base_url: build_web_client(
            token=token, base_url=base_url, timeout=CHECKIN_CLIENT_TIMEOUT, retries=False
        ),
    )
    pacer = SharedPostPacer(db, rate=settings.checkin_post_rate)
    # Deliveries after Slack has its answer: nudges and check-ins "now" (their rows
    # wait in the database, so a stop may drop the queue).
    background = BackgroundWork()
    # Its own pool: a modal must open within its trigger's 3 seconds, never queued
    # behind deliveries sleeping through a rate limit. Shutdown lets it finish.
    after_ack = BackgroundWork(name="reframe-after-ack")
    checkin_delivery = CheckinDelivery(
        db=db,
        clock=clock,
        slack=checkin_slack,
        default_schedule=WeeklySchedule(
            weekday=settings.checkin_default_weekday,
            at=parse_time(settings.checkin_default_time),
            tz=settings.checkin_default_tz,
        ),
        reminder_after=timedelta(hours=settings.checkin_reminder_hours),
        max_attempts=settings.checkin_max_attempts,
        workers=settings.checkin_send_workers,
        pacer=pacer,
        default_for=lambda team_id: checkin_default(workspace.effective(team_id), settings),
    )
    checkins = CheckinService(
        db=db,
        clock=clock,
        delivery=checkin_delivery,
        join_mode=settings.checkin_join_mode,
        join_mode_for=lambda team_id: workspace.effective(team_id).join_mode,
        # On the after-ack pool, which shutdown drains: an invitation is claimed in
        # the database before it is posted, and a dropped job would never be shown.
        invite=lambda team_id, user_id, channel_id: after_ack.submit(
            checkins.show_invitation, team_id, user_id, channel_id
        ),
    )
    nudges = NudgeService(
        db=db,
        clock=clock,
        library=library,
        channels=channels,
        sender=gateway,
        policy=CooldownPolicy(
            per_channel=timedelta(hours=settings.nudge_channel_cooldown_hours),
            daily_limit=settings.nudge_daily_limit,
        ),
        policy_for=lambda team_id: cooldown_policy(workspace.effective(team_id)),
        delivery_window=timedelta(minutes=settings.nudge_delivery_window_minutes),
        on_rep_seen=checkins.on_rep_seen,
    )
    reframe = build_reframe_service(library=library, clock=clock, db=db)
    router = CommandRouter(commands.reframe_fallback(reframe), commands.REFRAME_USAGES)
    router.add(
        "channel",
        "/reframe channel on|off|auto|status|mode ephemeral|thread|dm",
        "choose whether Reframe listens in this channel, and how it answers",
        commands.channel_subcommand(channels, gateway),
    )

    def forget_cached(team_id: str, user_id: str | None) -> None:
        """forget-me (one rep) or an uninstall (a workspace, user_id None): this
        process's caches let go too; other processes' expire within minutes."""
        checkins.forget_cached(team_id, user_id)
        if user_id is None:
            channels.forget_team(team_id)
            pacer.forget_team(team_id)
            workspace.forget(team_id)
            admins.forget(team_id)

    def forget_workspace_clients(team_id: str) -> None:
        """After an uninstall: no Web API client (nor the token in it) stays cached."""
        slack.forget_team(team_id)
        checkin_slack.forget_team(team_id)

    privacy = build_privacy(db=db, clock=clock, forget_cached=forget_cached)
    router.add(
        "forget-me",
        privacy_listeners.FORGET_USAGE,
        privacy_listeners.FORGET_SUMMARY,
        privacy_listeners.forget_me_subcommand(),
    )

    router.add(
        "checkin",
        checkin_listeners.CHECKIN_USAGE,
        checkin_listeners.CHECKIN_SUMMARY,
        checkin_listeners.checkin_subcommand(
            checkins,
            deliver=lambda checkin_id: background.submit(checkins.deliver, checkin_id),
            refresh=lambda team_id, user_id: background.submit(
                checkins.refresh_profile, team_id, user_id
            ),
        ),
    )
    bolt = build_bolt_app(
        signing_secret=_secret(settings.slack_signing_secret),
        client=slack.app_client,
        authorize=slack.authorize,
        oauth_flow=slack.oauth_flow,
        installation_store=slack.installation_store,
        listener_executor=after_ack,
        # ReframeWSGI below verifies with this secret whenever there is one.
        verified_before=bool(_secret(settings.slack_signing_secret)),
    )
    events.register(
        bolt,
        nudges=nudges,
        channels=channels,
        deliver=partial(nudges.deliver_on, background),
        external_members=settings.nudge_external_members,
    )
    commands.register(bolt, router=router)
    actions.register(bolt, nudges=nudges)
    admins = settings_listeners.SettingsAdmins(
        settings=workspace, slack_admin=gateway.is_workspace_admin
    )
    publish_home = checkin_listeners.register(
        bolt,
        checkins=checkins,
        content=checkin_content,
        home_extra=settings_listeners.home_blocks(workspace, admins),
    )
    settings_listeners.register(
        bolt, settings=workspace, admins=admins, republish_home=publish_home
    )
    privacy_listeners.register(
        bolt,
        privacy=privacy,
        installation_store=slack.installation_store,
        on_workspace_removed=forget_workspace_clients,
    )

    wsgi = ObservedWSGI(
        ReframeWSGI(
            bolt,
            live=lambda: True,
            ready=db.ping,
            metrics=metrics.render,
            signing_secret=_secret(settings.slack_signing_secret),
        )
    )
    jobs = [
        Job("deliver_pending_nudges", nudges.deliver_due, settings.scheduler_tick_seconds),
        Job("send_due_checkins", checkins.send_due, settings.scheduler_tick_seconds),
        # Retention runs itself, once per period in the cluster however many
        # schedulers run (an advisory lock and job_runs; a minute's slack for jitter).
        Job(
            "purge_expired_data",
            lambda: privacy.purge_older_than(
                timedelta(days=settings.data_retention_days),
                once_per=timedelta(seconds=RETENTION_EVERY_SECONDS - 60),
            ),
            RETENTION_EVERY_SECONDS,
        ),
    ]
    digests = build_digests(
        settings,
        db=db,
        clock=clock,
        library=library,
        client_for=slack.background,
        config_for=lambda team_id: digest_config(workspace.effective(team_id), settings),
    )
    if digests.enabled:
        # Exactly once per workspace and week: the row is claimed in the database.
        jobs.append(Job("post_team_digest", digests.post_due, settings.scheduler_tick_seconds))
    return Reframe(
        settings=settings,
        clock=clock,
        db=db,
        library=library,
        channels=channels,
        nudges=nudges,
        reframe=reframe,
        privacy=privacy,
        checkins=checkins,
        router=router,
        bolt=bolt,
        wsgi=wsgi,
        background=background,
        after_ack=after_ack,
        jobs=jobs,
        digests=digests,
    )


def build_digests(
    settings: Settings,
    *,
    db: Database,
    clock: Clock | None = None,
    library: QuestionLibrary | None = None,
    client_for: Callable[[str], WebClient] | None = None,
    config_for: Callable[[str], DigestConfig] | None = None,
) -> DigestService:
    """The team digest; without Slack (`client_for` None) it composes but never posts."""
    return DigestService(
        db=db,
        clock=clock or SystemClock(),
        library=library or QuestionLibrary.load(),
        schedule=WeeklySchedule(
            weekday=settings.digest_weekday,
            at=parse_time(settings.digest_time),
            tz=settings.digest_tz,
        ),
        k=settings.digest_min_reps,
        destinations=settings.digest_destinations,
        slack=SlackDigests(client_for=client_for, wording=DigestWording.load())
        if client_for is not None
        else None,
        config_for=config_for,
    )


def digest_config_for(settings: Settings, db: Database) -> Callable[[str], DigestConfig]:
    """Each workspace's digest settings (App Home over the environment), for tools
    that compose a digest without the whole app (`python -m bot digest preview`)."""
    workspace = WorkspaceSettingsService(
        db=db, clock=SystemClock(), defaults=workspace_defaults(settings)
    )
    return lambda team_id: digest_config(workspace.effective(team_id), settings)


def build_home_preview(
    settings: Settings, *, db: Database, team_id: str, user_id: str, admin: bool
) -> View:
    """Someone's App Home as the app would publish it, built offline (no Slack)."""
    clock = SystemClock()
    workspace = WorkspaceSettingsService(db=db, clock=clock, defaults=workspace_defaults(settings))
    content = CheckinContent.load()
    delivery = CheckinDelivery(
        db=db,
        clock=clock,
        slack=SlackCheckins(
            client_for=_no_slack,
            content=content,
            make_client=lambda token, base_url: build_web_client(token=token, base_url=base_url),
        ),
        default_schedule=checkin_default(workspace.defaults, settings),
        default_for=lambda team: checkin_default(workspace.effective(team), settings),
    )
    checkins = CheckinService(db=db, clock=clock, delivery=delivery)
    home = checkins.home(team_id, user_id)
    view = (
        build_home_view(content, home)
        if home.status.enrolled
        else build_welcome_home_view(content, home.status.schedule.describe())
    )
    if admin:
        extra = build_settings_home_blocks(
            workspace.effective(team_id), workspace.recent_changes(team_id)
        )
        view.blocks = [*(view.blocks or []), *extra]
    return view


def _no_slack(_team_id: str) -> WebClient:
    raise RuntimeError("a preview never calls Slack")


def workspace_defaults(settings: Settings) -> WorkspaceConfig:
    """The environment's settings, as every workspace has them until its admins choose."""
    return WorkspaceConfig(
        deal_channel_patterns=settings.deal_channel_patterns,
        checkin_weekday=settings.checkin_default_weekday,
        checkin_time=parse_time(settings.checkin_default_time),
        join_mode=settings.checkin_join_mode,
        digest_channel=settings.digest_channel or None,
        digest_dm_users=frozenset(settings.digest_dm_users),
        digest_weekday=settings.digest_weekday,
        digest_time=parse_time(settings.digest_time),
        digest_min_reps=settings.digest_min_reps,
        nudge_cooldown_hours=settings.nudge_channel_cooldown_hours,
        nudge_daily_limit=settings.nudge_daily_limit,
        visible_mode_by="creator_or_admin",
        settings_admins=frozenset(),
    )


def checkin_default(config: WorkspaceConfig, settings: Settings) -> WeeklySchedule:
    return WeeklySchedule(
        weekday=config.checkin_weekday, at=config.checkin_time, tz=settings.checkin_default_tz
    )


def cooldown_policy(config: WorkspaceConfig) -> CooldownPolicy:
    return CooldownPolicy(
        per_channel=timedelta(hours=config.nudge_cooldown_hours),
        daily_limit=config.nudge_daily_limit,
    )


def digest_config(config: WorkspaceConfig, settings: Settings) -> DigestConfig:
    """A workspace's digest: its channel (or none), the managers it DMs, its day, time
    and k."""
    destinations = tuple(d for d in (config.digest_channel, *sorted(config.digest_dm_users)) if d)
    return DigestConfig(
        schedule=WeeklySchedule(
            weekday=config.digest_weekday, at=config.digest_time, tz=settings.digest_tz
        ),
        k=config.digest_min_reps,
        destinations=destinations,
    )


def connect(settings: Settings) -> Database:
    """The configured database: one engine and pool per process (dispose of it when done)."""
    return Database.connect(settings.database_url)


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    """The configured database for a command that needs only it, closed afterwards."""
    db = connect(settings)
    try:
        yield db
    finally:
        db.dispose()


def migrate_database(settings: Settings, revision: str = "head") -> str:
    """Run the migrations up to `revision` (`db upgrade`, the roles before they start);
    returns where the database is, without its password."""
    from bot.storage.migrate import upgrade_database

    return upgrade_database(settings.database_url, revision)


def build_reframe_service(
    *,
    library: QuestionLibrary | None = None,
    clock: Clock | None = None,
    db: Database | None = None,
) -> ReframeService:
    """`/reframe`'s answers; without a database (`python -m bot reframe`) nothing is recorded."""
    return ReframeService(
        library=library or QuestionLibrary.load(), clock=clock or SystemClock(), db=db
    )


def build_privacy(
    *,
    db: Database,
    clock: Clock | None = None,
    forget_cached: Callable[[str, str | None], None] | None = None,
) -> PrivacyService:
    """Exports, forget-me, uninstalls and retention. `forget_cached` lets the running
    app's caches go too; a command-line process has none."""
    return PrivacyService(
        db=db, clock=clock or SystemClock(), forget_cached=forget_cached or _nothing_cached
    )


def _nothing_cached(_team_id: str, _user_id: str | None) -> None:
    return None


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else ""
