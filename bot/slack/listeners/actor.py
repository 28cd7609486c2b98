"""Whose request this is: the ids Bolt has already read from the payload into `context`.

Bolt fills `context.team_id`, `context.user_id` and `context.channel_id` for every
request before a listener runs (slack_bolt/request/internals.py, `build_context`):

- buttons and modals (`block_actions`, `view_submission`): the person who clicked or
  submitted (`user.id`) and their workspace (`team.id`, or `user.team_id` when `team`
  is null); for a modal opened from a Slack Connect channel, the workspace the app is
  installed in (`view.app_installed_team_id`).
- slash commands: `team_id`, `user_id`, `channel_id` of the form body.
- Events API: the workspace of the installation the event was delivered for
  (`authorizations[0].team_id`, else the envelope's `team_id`), and the event's
  `user`: the author of a message, the person opening App Home. In a Slack Connect
  channel the author may belong to another organisation: `event.user_team` says
  which (listeners/events.py checks it against this team).

Reframe is never installed org-wide (`org_deploy_enabled` is false in manifest.json),
so the team id is a workspace's. A payload can carry anything where an id belongs
(tests/test_hostile.py sends such): only non-empty strings count.
"""

from __future__ import annotations

from typing import TypeGuard

from slack_bolt import BoltContext


def is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def team_and_user(context: BoltContext) -> tuple[str, str] | None:
    """The workspace and person a request is from, or None when either is missing."""
    team_id, user_id = context.team_id, context.user_id
    if is_id(team_id) and is_id(user_id):
        return team_id, user_id
    return None


def team_of(context: BoltContext) -> str | None:
    """The workspace a request is for (events without a person: uninstall, renames)."""
    return context.team_id if is_id(context.team_id) else None
