"""Django's PostgreSQL backend with one change: the pooled connection's borrow check
(core.postgresql.checks), used for pooled connections. ``DATABASE_URL`` names PostgreSQL as usual; settings.py
points ENGINE here."""
