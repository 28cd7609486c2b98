"""Pure domain logic: detection, questions, traps. No Slack, no SQL."""
