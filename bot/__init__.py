"""Reframe: a Slack app that coaches sales reps' mindset where deals are discussed."""
