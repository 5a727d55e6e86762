"""The one declarative base every model of the platform is declared on, and what set-based writes need.

The base is plain SQLAlchemy so the domain never depends on Flask; the web face
wraps it with ``SQLAlchemy(model_class=Base)`` and the metadata is shared.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Mapping, Optional, Protocol, Sequence

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, TypeDecorator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import registry as orm_registry

# Deterministic constraint names keep Alembic migrations reproducible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, but INTEGER on SQLite so the primary key keeps ROWID autoincrement.
BigID = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stores timezone-aware datetimes as UTC and always returns aware UTC values.

    SQLite has no time zones; PostgreSQL uses timestamptz. Naive input is refused
    so that a local time can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


JSONType = JSON()


class Base(DeclarativeBase):
    # The type map sits on an explicit registry because Flask-SQLAlchemy copies this
    # class's namespace into a subclass, and SQLAlchemy refuses a base that carries
    # both a registry and a type_annotation_map. Base.metadata comes from the registry.
    registry = orm_registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict: JSONType, list: JSONType},
    )


class BulkWriter(Protocol):
    """How a domain module writes many rows at once in the caller's transaction (``ledger.add_earn_lots`` …).

    The module says which rows and columns; a writer per database streams them
    (the bulk ingest's: COPY on PostgreSQL, executemany on SQLite). Values are
    plain Python: int, str, Decimal, date, an aware datetime or None; ``same``
    holds the columns every row has alike, which a writer renders once.
    """

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence],
               same: Optional[Mapping[str, object]] = None) -> None:
        """Store the rows."""

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence], unique: str,
                   same: Optional[Mapping[str, object]] = None) -> None:
        """Store the rows whose ``unique`` column holds a value not stored yet; skip the others."""

    def add_amounts(self, table: str, amounts: Mapping[int, object], moves: Sequence[tuple[str, str]],
                    same: Optional[Mapping[str, object]] = None, returning: str = "id") -> dict:
        """Add to the rows of these ids: ``column += amount`` for each (column, amount name) of ``moves``.

        ``amounts`` maps a row's id to an object with the named amounts as attributes;
        ``same`` columns are set on every row. Returns {id: the ``returning`` column after}.
        """

class ReadStatement:
    """A SELECT that changes nothing, built once with Core and run with as little as possible around it.

    For the reads residents make most. On PostgreSQL the SQL is rendered once per dialect and
    sent straight to the driver as a prepared statement on a pooled connection switched to
    autocommit for the call: one round trip, no BEGIN before it, no ROLLBACK after it, and
    none of SQLAlchemy's per-execution work. One statement is one snapshot, so whatever the
    caller checks (an account's status) and what it answers come from the same moment.
    Parameters must be what the driver takes as they are (ints, text, aware datetimes).
    Other databases (SQLite) run it through SQLAlchemy in a deferred read transaction, which
    takes no write lock.
    """

    def __init__(self, statement):
        self.statement = statement
        self._rendered: dict[str, tuple[str, dict]] = {}

    def one(self, engine: Engine, params: dict):
        """The first row (a tuple), or None."""
        if engine.dialect.name != "postgresql":
            with engine.connect() as conn:
                row = conn.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        sql, literals = self._render(engine)
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        try:
            driver.autocommit = True
            row = driver.execute(sql, {**literals, **params}, prepare=True).fetchone()
            driver.autocommit = False
        except BaseException:
            pooled.invalidate()  # whatever state the driver is in, this connection never goes back to the pool
            raise
        finally:
            pooled.close()
        return row

    def _render(self, engine: Engine) -> tuple[str, dict]:
        rendered = self._rendered.get(engine.dialect.name)
        if rendered is None:
            compiled = self.statement.compile(dialect=engine.dialect)
            # Values the statement carries itself; the caller's parameters fill (and win over) the rest.
            literals = {name: value for name, value in compiled.params.items() if value is not None}
            rendered = self._rendered[engine.dialect.name] = (str(compiled), literals)
        return rendered
