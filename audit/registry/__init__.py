"""Registry: what is stored.

Owns the database models, the engine and migrations (db, migrations/), imports into the registry with their
history (store), and user accounts (users). May import intake and geo.
"""
