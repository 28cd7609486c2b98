"""Bolt listeners, by kind. Each module's `register(app, …)` wires its handlers."""
