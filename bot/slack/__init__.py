"""The Slack edge: listeners (thin), Block Kit builders, and the Web API gateway."""
