"""Persistence: SQLAlchemy models, the engine, migrations and small repositories."""
