"""Alembic's entry point: runs the migrations on the connection that `diffuserve.storage.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from diffuserve.storage.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("diffuserve migrations run through `diffuserve db upgrade`, which hands over a connection")
# SQLite cannot alter most of a table in place: batch mode copies the table when a change needs it.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
