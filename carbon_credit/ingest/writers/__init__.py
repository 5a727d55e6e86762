"""Set-based writes of one batch, a writer per database: COPY on PostgreSQL, executemany on SQLite.

``writer_classes()`` names the writer of each database, in one visible place;
a database without one cannot run the bulk ingest.
"""
from __future__ import annotations

from typing import Optional

from carbon_credit.ingest.writers.common import BaseWriter, Owner, StatementDuringCopy
from carbon_credit.ingest.writers.postgres import PostgresWriter
from carbon_credit.ingest.writers.sqlite import SQLiteWriter


def writer_classes() -> dict:
    """The writer class of each SQLAlchemy dialect the ingest runs on."""
    return {"postgresql": PostgresWriter, "sqlite": SQLiteWriter}


def writer_class(engine) -> type:
    return writer_classes()[engine.dialect.name]


def writer_for(session, statement_timeout: Optional[float] = None) -> BaseWriter:
    """A writer on the connection of the session's current transaction (call once per batch).

    ``statement_timeout`` (seconds) bounds every statement of the batch where
    the database can (PostgreSQL): a batch that waits longer fails instead of hanging.
    """
    return writer_class(session.get_bind())(session, statement_timeout)


def run_lock(engine, run_id: int):
    """A context manager held for a whole run: one run of a file at a time; it yields False when another
    process holds it."""
    return writer_class(engine).run_lock(engine, run_id)


__all__ = ["BaseWriter", "Owner", "PostgresWriter", "SQLiteWriter", "StatementDuringCopy", "run_lock", "writer_class",
           "writer_classes", "writer_for"]
