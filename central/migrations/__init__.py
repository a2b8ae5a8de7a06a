"""Alembic migrations of central's database (both SQLite and PostgreSQL); see central/db.py."""
