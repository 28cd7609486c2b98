"""The process's in-memory caches stay bounded, expire, and forget a rep who said
forget-me and a workspace that uninstalled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.caches import TeamCache, TeamSet
from bot.domain.clock import FixedClock
from bot.slack.checkin_blocks import CheckinContent
from bot.slack.checkin_client import SlackCheckins
from bot.slack.listeners.privacy import FORGET_CONFIRM
from bot.storage.db import Database
from bot.storage.pacing import SharedPostPacer
from tests.conftest import RunningApp
from tests.fakes.slack_requests import TEAM

OTHER_TEAM = "T0OTHER"


def test_a_cache_holds_at_most_maxsize_and_lets_the_least_recent_go() -> None:
    cache: TeamCache[int] = TeamCache(maxsize=3, ttl=timedelta(hours=1))
    for n in range(3):
        cache.put(("T1", f"U{n}"), n)
    assert cache.get(("T1", "U0")) == 0  # used: now the most recent
    cache.put(("T1", "U3"), 3)
    assert len(cache) == 3
    assert ("T1", "U1") not in cache  # the least recently used went
    assert [cache.get(("T1", f"U{n}")) for n in (0, 2, 3)] == [0, 2, 3]


def test_entries_expire_after_their_ttl_on_the_injected_clock(clock: FixedClock) -> None:
    cache: TeamCache[str] = TeamCache(maxsize=10, ttl=timedelta(seconds=60), clock=clock)
    cache.put(("T1", "C1"), "deal-acme")
    clock.advance(timedelta(seconds=59))
    assert cache.get(("T1", "C1")) == "deal-acme"
    clock.advance(timedelta(seconds=2))
    assert cache.get(("T1", "C1")) is None
    assert ("T1", "C1") not in cache
    assert len(cache) == 0


def test_forget_lets_go_of_one_rep_or_a_whole_workspace() -> None:
    known = TeamSet(maxsize=10, ttl=timedelta(hours=1))
    for key in (("T1", "U1"), ("T1", "U2"), ("T2", "U1")):
        known.add(key)
    assert known.forget("T1", "U1") == 1
    assert ("T1", "U1") not in known and ("T1", "U2") in known and ("T2", "U1") in known
    assert known.forget("T1") == 1
    assert ("T1", "U2") not in known and ("T2", "U1") in known


def test_a_cache_refuses_a_size_or_ttl_that_would_keep_nothing() -> None:
    with pytest.raises(ValueError):
        TeamCache(maxsize=0, ttl=timedelta(seconds=1))
    with pytest.raises(ValueError):
        TeamCache(maxsize=1, ttl=timedelta(0))


def test_a_cache_shared_by_many_threads_stays_consistent_and_bounded() -> None:
    cache: TeamCache[int] = TeamCache(maxsize=50, ttl=timedelta(hours=1))
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(2000):
                key = (f"T{n % 7}", f"U{worker}-{n % 90}")
                cache.put(key, n)
                cache.get(key)
                if n % 97 == 0:
                    cache.forget(f"T{n % 7}")
                assert len(cache) <= 50
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 50


def test_checkin_clients_are_kept_per_workspace_and_forgotten_on_uninstall() -> None:
    made: list[str | None] = []

    def make_client(token: str | None, base_url: str) -> WebClient:
        made.append(token)
        return WebClient(token=token, base_url=base_url)

    shared = {team: WebClient(token=f"xoxb-{team}") for team in (TEAM, OTHER_TEAM)}
    checkins = SlackCheckins(
        client_for=shared.__getitem__, content=CheckinContent.load(), make_client=make_client
    )
    first = checkins._client_for(TEAM)
    assert checkins._client_for(TEAM) is first
    checkins._client_for(OTHER_TEAM)
    assert made == [f"xoxb-{TEAM}", f"xoxb-{OTHER_TEAM}"]

    checkins.forget_team(TEAM)

    assert checkins._client_for(TEAM) is not first
    assert made == [f"xoxb-{TEAM}", f"xoxb-{OTHER_TEAM}", f"xoxb-{TEAM}"]


def test_the_pacer_forgets_a_workspace_it_knew(db: Database) -> None:
    pacer = SharedPostPacer(db, rate=10.0)
    pacer.reserve(TEAM)
    assert (TEAM,) in pacer._known
    pacer.forget_team(TEAM)
    assert (TEAM,) not in pacer._known


# -- the running app: forget-me and uninstall reach every cache ---------------------


def _fill_caches(app: RunningApp) -> None:
    for user, ts in (("U0REP", "1700000000.000100"), ("U0OTHER", "1700000000.000200")):
        assert app.slack.message("pricing call moved to Friday", user=user, ts=ts).status == 200
    checkins = app.reframe.checkins
    checkins.refresh_profile(TEAM, "U0REP")  # users.info: the check-in client for TEAM
    checkins.delivery._pacer.reserve(TEAM)  # type: ignore[attr-defined]


def test_forget_me_drops_the_rep_from_this_processs_memory(running_app: RunningApp) -> None:
    app = running_app
    _fill_caches(app)
    known = app.reframe.checkins._known_reps
    assert (TEAM, "U0REP") in known and (TEAM, "U0OTHER") in known

    body = app.slack.command("forget-me", user="U0REP").json()
    value = next(e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"])
    reply = app.slack.action(
        FORGET_CONFIRM, value["value"], user="U0REP", response_url=app.fake.response_url("fm")
    )

    assert reply.status == 200
    assert (TEAM, "U0REP") not in known
    assert (TEAM, "U0OTHER") in known  # the others stay
    assert (TEAM, "C0DEAL") in app.reframe.channels._cache  # nothing of the rep's there


def test_uninstall_empties_every_cache_of_the_workspace(running_app: RunningApp) -> None:
    app = running_app
    _fill_caches(app)
    checkins = app.reframe.checkins
    pacer = checkins.delivery._pacer  # type: ignore[attr-defined]
    clients = checkins.delivery._slack._clients  # type: ignore[attr-defined]
    assert len(clients) == 1 and (TEAM,) in pacer._known
    assert (TEAM, "C0DEAL") in app.reframe.channels._cache

    assert app.slack.event({"type": "app_uninstalled"}).status == 200

    assert len(checkins._known_reps) == 0
    assert (TEAM, "C0DEAL") not in app.reframe.channels._cache
    assert (TEAM,) not in pacer._known
    assert len(clients) == 0
