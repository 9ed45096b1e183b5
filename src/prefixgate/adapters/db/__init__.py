"""SQLAlchemy Core adapter for SQLite and PostgreSQL."""
