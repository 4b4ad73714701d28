"""Alembic migrations of the camaudit schema, run by audit.db.init_db (no alembic.ini: the database is the one
init_db is given)."""
