"""Storage: SQLAlchemy 2 (async) models, the engine, and Alembic migrations.

Plain Python: nothing here imports the web layer or another domain package.
"""
