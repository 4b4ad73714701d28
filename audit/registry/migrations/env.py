"""Alembic environment: migrate the connection audit.registry.db.init_db passes in config.attributes["connection"]."""
from alembic import context

from audit.registry.models import Base

context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
