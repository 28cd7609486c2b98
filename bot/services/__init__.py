"""Use cases: what the bot does, independent of how Slack delivers the request."""
