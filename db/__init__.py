"""Persistence: SQLAlchemy 2 models, the async database handle, queries and Alembic migrations."""
