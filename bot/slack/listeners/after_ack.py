"""Answer Slack first, call Slack after.

Slack waits 3 seconds for the answer to an event, a button or a modal. The app
runs with `process_before_response` (what a listener decides is in the database
before Slack sees 200), so Bolt answers only when the listener returns: a Web API
call inside it (views.publish, views.open, chat.update, respond) would hold the
answer for as long as Slack makes it wait, several seconds under a 429.

So a listener that calls Slack is registered in two halves, with Bolt's lazy
listeners:

    app.action(ACTION)(ack=record_choice, lazy=[show_choice])

The ack half checks the request, writes to the database and calls `ack()`; what
the lazy half needs from it goes in the context under `HANDOFF`. Bolt starts the
lazy half once the ack half has returned, on the app's after-ack pool
(`listener_executor`), with a copy of the request and context; it may take its
time there (the patient client sleeps through a short Retry-After). Bolt logs a
lazy half's exception by its message only, at ERROR, and answers nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk.models.blocks import Block

# Context key: what the ack half decided, for the lazy half to show.
HANDOFF = "reframe_handoff"


def acknowledge(ack: Ack) -> None:
    """The ack half of a listener with nothing to record first."""
    ack()


@dataclass(frozen=True)
class Reply:
    """A message for the request's response_url."""

    text: str
    blocks: Sequence[Block] | None = None
    replace_original: bool | None = None


def send_reply(context: BoltContext, respond: Respond) -> None:
    """The lazy half that posts the `Reply` its ack half left in the context."""
    reply = context.get(HANDOFF)
    if isinstance(reply, Reply):
        respond(text=reply.text, blocks=reply.blocks, replace_original=reply.replace_original)
