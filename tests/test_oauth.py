"""Multi-workspace install over OAuth v2, end to end: /slack/install, the redirect,
tokens sealed in our database, and each workspace answered with its own token."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.domain.clock import FixedClock
from bot.processes.web import make_http_server, serve_in_thread
from bot.storage.models import Nudge, bots_table, installations_table
from bot.wiring import build
from tests.conftest import RunningApp, make_settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.fakes.slack_requests import Reply, SlackSender
from tests.test_privacy import counts, seed

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret-value"
NEW_TEAM, NEW_TOKEN = "T0NEW", "xoxb-1111-2222-newteamtokenvalue"
VENT = "their DM is a jerk tbh, he'll never give us a shot"


@contextmanager
def running_oauth_app(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock, **overrides: object
) -> Iterator[RunningApp]:
    """The bot in distribution mode: client id and secret, no bot token."""
    settings = make_settings(
        database_url,
        fake_slack,
        slack_bot_token=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        token_encryption_key=Fernet.generate_key().decode(),
        **overrides,
    )
    assert settings.uses_oauth
    reframe = build(settings, clock=clock)
    server = make_http_server(reframe.wsgi, "127.0.0.1", 0)
    serve_in_thread(server)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield RunningApp(reframe, url, SlackSender(url), fake_slack, clock)
    finally:
        server.shutdown()
        server.server_close()
        reframe.shutdown()


@pytest.fixture
def oauth_app(database_url: str, fake_slack: FakeSlack, clock: FixedClock) -> Iterator[RunningApp]:
    with running_oauth_app(database_url, fake_slack, clock) as app:
        yield app


@dataclass
class InstallStart:
    authorize_url: str
    state: str
    cookie: str


def start_install(app: RunningApp) -> InstallStart:
    reply = get(app.url + "/slack/install")
    assert reply.status == 200
    match = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', reply.body.decode())
    assert match is not None, reply.body[:300]
    authorize_url = unescape(match.group(1))
    state = parse_qs(urlparse(authorize_url).query)["state"][0]
    headers = {name.lower(): value for name, value in reply.headers.items()}
    cookie = headers.get("set-cookie", "").split(";")[0]
    return InstallStart(authorize_url, state, cookie)


def install(app: RunningApp, team_id: str = NEW_TEAM, token: str = NEW_TOKEN) -> Reply:
    start = start_install(app)
    code = f"code-{team_id}"
    app.fake.add_oauth_code(code, team_id=team_id, token=token)
    return redirect(app, code, start.state, start.cookie)


def get(url: str, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, headers=headers or {}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers))


def vent_from(app: RunningApp, team_id: str, ts: str = "1700000000.000100") -> Reply:
    event = {
        "type": "message",
        "channel": "C0DEAL",
        "user": "U0REP",
        "text": VENT,
        "ts": ts,
        "channel_type": "channel",
    }
    return app.slack.event(event, team=team_id)


def stored_bot_tokens(app: RunningApp) -> list[str]:
    with app.reframe.db.engine.connect() as connection:
        bots = connection.execute(select(bots_table.c.bot_token)).scalars().all()
        installs = connection.execute(select(installations_table.c.bot_token)).scalars().all()
    return [t for t in [*bots, *installs] if t is not None]


def test_install_page_links_to_slacks_authorize_url_with_state(oauth_app: RunningApp) -> None:
    start = start_install(oauth_app)

    query = parse_qs(urlparse(start.authorize_url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split(",")) >= {"chat:write", "channels:history", "commands"}
    assert len(start.state) >= 32
    assert start.cookie == f"slack-app-oauth-state={start.state}"


def test_redirect_exchanges_the_code_and_stores_the_token_encrypted(
    oauth_app: RunningApp,
) -> None:
    reply = install(oauth_app)

    assert reply.status == 200, reply.body[:300]
    [exchange] = oauth_app.fake.calls("oauth.v2.access")
    assert exchange.params["code"] == f"code-{NEW_TEAM}"
    stored = stored_bot_tokens(oauth_app)
    assert len(stored) == 2  # the installation and its bot row
    assert all(NEW_TOKEN not in token and "xoxb" not in token for token in stored)
    store = oauth_app.reframe.bolt.installation_store
    bot = store.find_bot(enterprise_id=None, team_id=NEW_TEAM)
    assert bot is not None and bot.bot_token == NEW_TOKEN
    assert bot.bot_user_id == "UBOT2"


def test_a_later_event_is_answered_with_that_workspaces_token(oauth_app: RunningApp) -> None:
    install(oauth_app)
    oauth_app.fake.reset()

    assert vent_from(oauth_app, NEW_TEAM).status == 200

    [posted] = oauth_app.fake.wait_for("chat.postEphemeral")
    assert posted.headers["authorization"] == f"Bearer {NEW_TOKEN}"
    assert posted.params["channel"] == "C0DEAL"
    [lookup] = oauth_app.fake.calls("conversations.info")
    assert lookup.headers["authorization"] == f"Bearer {NEW_TOKEN}"
    [auth] = oauth_app.fake.calls("auth.test")  # Bolt checks each token once
    assert auth.headers["authorization"] == f"Bearer {NEW_TOKEN}"


def test_two_workspaces_each_get_their_own_token(oauth_app: RunningApp) -> None:
    install(oauth_app, "T0ONE", "xoxb-1-one")
    install(oauth_app, "T0TWO", "xoxb-2-two")
    oauth_app.fake.reset()

    vent_from(oauth_app, "T0ONE", ts="1.1")
    vent_from(oauth_app, "T0TWO", ts="1.2")

    posted = oauth_app.fake.wait_for("chat.postEphemeral", 2)
    by_thread = {call.params["thread_ts"]: call.headers["authorization"] for call in posted}
    assert by_thread == {"1.1": "Bearer xoxb-1-one", "1.2": "Bearer xoxb-2-two"}


def test_an_event_from_a_workspace_that_never_installed_does_nothing(
    oauth_app: RunningApp,
) -> None:
    reply = vent_from(oauth_app, "T0STRANGER")

    assert reply.status == 200  # Bolt answers, so Slack does not retry forever
    oauth_app.wait_until_idle()
    assert oauth_app.fake.calls("chat.postEphemeral") == []
    with oauth_app.reframe.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Nudge)) == 0


def test_a_forged_or_reused_state_installs_nothing(oauth_app: RunningApp) -> None:
    start = start_install(oauth_app)
    oauth_app.fake.add_oauth_code("code-x", team_id=NEW_TEAM, token=NEW_TOKEN)
    oauth_app.fake.add_oauth_code("code-y", team_id="T0EVIL", token="xoxb-evil")

    forged = redirect(oauth_app, "code-x", "forged", "slack-app-oauth-state=forged")
    first = redirect(oauth_app, "code-x", start.state, start.cookie)
    reused = redirect(oauth_app, "code-y", start.state, start.cookie)

    assert forged.status >= 400
    assert first.status == 200
    assert reused.status >= 400
    assert len(oauth_app.fake.calls("oauth.v2.access")) == 1
    store = oauth_app.reframe.bolt.installation_store
    assert store.find_bot(enterprise_id=None, team_id="T0EVIL") is None


def redirect(app: RunningApp, code: str, state: str, cookie: str) -> Reply:
    query = urlencode({"code": code, "state": state})
    return get(f"{app.url}/slack/oauth_redirect?{query}", {"Cookie": cookie})


def test_uninstall_deletes_tokens_and_data_and_stops_answering(oauth_app: RunningApp) -> None:
    install(oauth_app)
    install(oauth_app, "T0STAYS", "xoxb-stays")
    vent_from(oauth_app, NEW_TEAM)  # warms the token cache for NEW_TEAM
    oauth_app.fake.wait_for("chat.postEphemeral")
    seed(oauth_app.reframe.db, team_id="T0STAYS", user_id="U0REP", at=oauth_app.clock.now())

    assert oauth_app.slack.event({"type": "app_uninstalled"}, team=NEW_TEAM).status == 200

    store = oauth_app.reframe.bolt.installation_store
    assert store.find_bot(enterprise_id=None, team_id=NEW_TEAM) is None
    assert store.find_installation(enterprise_id=None, team_id=NEW_TEAM) is None
    assert counts(oauth_app.reframe.db, team_id=NEW_TEAM)["nudges"] == 0
    assert store.find_bot(enterprise_id=None, team_id="T0STAYS") is not None
    assert counts(oauth_app.reframe.db, team_id="T0STAYS")["nudges"] == 1
    # Bolt no longer finds an installation for the workspace: nothing is handled.
    oauth_app.fake.reset()
    vent_from(oauth_app, NEW_TEAM, ts="1700000000.000999")
    oauth_app.wait_until_idle()
    assert oauth_app.fake.calls("chat.postEphemeral") == []


@pytest.mark.parametrize(
    ("team", "kept"),
    [("T0AB12CD", True), ("T1%26scope%3Dadmin%2Cusers%3Awrite", False), ("<script>", False)],
)
def test_install_page_keeps_a_team_id_and_drops_anything_else(
    oauth_app: RunningApp, team: str, kept: bool
) -> None:
    reply = get(oauth_app.url + "/slack/install?team=" + team)
    assert reply.status == 200
    match = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', reply.body.decode())
    assert match is not None
    query = parse_qs(urlparse(unescape(match.group(1))).query)
    assert len(query["scope"]) == 1 and "admin" not in query["scope"][0]
    assert "users:write" not in query["scope"][0]
    assert query.get("team") == (["T0AB12CD"] if kept else None)


def test_slack_not_answering_the_code_exchange_gets_a_page_saying_to_try_again(
    database_url: str, fake_slack: FakeSlack, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with running_oauth_app(database_url, fake_slack, clock, slack_oauth_timeout_seconds=0.5) as app:
        start = start_install(app)
        app.fake.add_oauth_code("code-slow", team_id=NEW_TEAM, token=NEW_TOKEN)
        app.fake.fail("oauth.v2.access", Fault(200, delay=3.0))  # past the client's timeout

        with caplog.at_level(logging.INFO):
            reply = redirect(app, "code-slow", start.state, start.cookie)

        assert reply.status == 504
        page = unescape(reply.body.decode())
        assert "Slack did not answer in time" in page
        assert "not installed" in page and 'href="/slack/install"' in page
        [problem] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert "oauth.v2.access" in problem.getMessage()
        for secret in ("code-slow", start.state, CLIENT_SECRET, NEW_TOKEN):
            assert secret not in caplog.text
        store = app.reframe.bolt.installation_store
        assert store.find_bot(enterprise_id=None, team_id=NEW_TEAM) is None
        # Slack back: installing again from the page works.
        assert install(app).status == 200
        assert store.find_bot(enterprise_id=None, team_id=NEW_TEAM) is not None


def test_slack_unreachable_during_the_code_exchange_is_a_502_page(oauth_app: RunningApp) -> None:
    start = start_install(oauth_app)
    oauth_app.fake.stop()  # nothing listens at SLACK_API_URL any more

    reply = redirect(oauth_app, "code-lost", start.state, start.cookie)

    assert reply.status == 502
    page = unescape(reply.body.decode())
    assert "could not reach Slack" in page and 'href="/slack/install"' in page
