"""The one declarative base every model of the platform is declared on, and what set-based writes need.

The base is plain SQLAlchemy so the domain never depends on Flask; the web face
wraps it with ``SQLAlchemy(model_class=Base)`` and the metadata is shared.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Iterable, Mapping, Optional, Protocol, Sequence

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, TypeDecorator
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

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence], unique: Sequence[str],
                   same: Optional[Mapping[str, object]] = None) -> None:
        """Store the rows whose values in the ``unique`` columns (a unique index's) are not stored yet; skip the
        others."""

    def insert_or_add(self, table: str, columns: Sequence[str], rows: Iterable[Sequence], key: Sequence[str],
                      where: str, adding: Sequence[str], same: Optional[Mapping[str, object]] = None) -> None:
        """Store the rows; where a stored row for which ``where`` (SQL) holds has a row's ``key`` columns, add
        the row's ``adding`` columns to that row instead (a partial unique index on ``key`` where ``where``).

        One statement for all the rows on PostgreSQL. No two rows may have the same key.
        """

    def add_amounts(self, table: str, amounts: Mapping[int, object], moves: Sequence[tuple[str, str]],
                    same: Optional[Mapping[str, object]] = None, returning: str = "id") -> dict:
        """Add to the rows of these ids: ``column += amount`` for each (column, amount name) of ``moves``.

        ``amounts`` maps a row's id to an object with the named amounts as attributes;
        ``same`` columns are set on every row. Returns {id: the ``returning`` column after}.
        """


def built_on(item, dialect: str) -> bool:
    """Whether an index or constraint of the models is created on ``dialect`` (its ``ddl_if``).

    Alembic's comparison of the models with a database does not read ``ddl_if``;
    its ``include_object`` hook uses this (``schema_objects_for``).
    """
    condition = getattr(item, "_ddl_if", None)
    return condition is None or condition.dialect in (None, dialect)


def _on_expressions(index) -> bool:
    return any(not isinstance(expression, Column) for expression in index.expressions)


def schema_objects_for(dialect: str):
    """An Alembic ``include_object`` hook: the models' indexes and constraints that ``dialect`` builds.

    Indexes on expressions are left out of the comparison: Alembic reads them back
    in PostgreSQL's own spelling, never equal to the models' text. Their
    definitions are compared in ``pg_indexes`` instead (tests/test_migrations.py).
    """

    def include_object(item, name, type_, reflected, compare_to):
        if type_ == "index" and any(index is not None and _on_expressions(index) for index in (item, compare_to)):
            return False
        return reflected or type_ not in ("index", "unique_constraint") or built_on(item, dialect)

    return include_object


def key_columns(unique) -> list:
    """The columns of a ``BulkWriter.insert_new`` key: a name or a sequence of names."""
    return [unique] if isinstance(unique, str) else list(unique)


class ReadStatement:
    """A SELECT that changes nothing, built once with Core and run with as little as possible around it.

    For the reads residents make most. On PostgreSQL the SQL is rendered once per dialect and
    prepared once on each of a few connections the engine keeps for these reads alone
    (``AutocommitReads``): always in autocommit, so the read is one round trip with no BEGIN
    before it and no ROLLBACK after it, and none of SQLAlchemy's or the driver's per-execution
    work beyond binding the parameters and loading the row (psycopg's own adapters do both).
    One statement is one snapshot, so whatever the caller checks (an account's status) and what
    it answers come from the same moment. Other databases (SQLite) run it through SQLAlchemy in a
    deferred read transaction, which takes no write lock.
    """

    _names = 0

    def __init__(self, statement):
        self.statement = statement
        self._rendered: dict[str, tuple[str, dict, tuple[str, ...]]] = {}
        ReadStatement._names += 1
        self.name = f"carbon_read_{ReadStatement._names}".encode()

    def one(self, engine: Engine, params: dict):
        """The first row (a tuple), or None."""
        if engine.dialect.name != "postgresql":
            with engine.connect() as conn:
                row = conn.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        sql, literals, order = self._render(engine)
        values = {**literals, **params}
        return AutocommitReads.of(engine).first_row(self.name, sql, [values[name] for name in order])

    def _render(self, engine: Engine) -> tuple[str, dict, tuple[str, ...]]:
        rendered = self._rendered.get(engine.dialect.name)
        if rendered is None:
            compiled = self.statement.compile(dialect=engine.dialect)
            # Values the statement carries itself; the caller's parameters fill (and win over) the rest.
            literals = {name: value for name, value in compiled.params.items() if value is not None}
            order: list[str] = []

            def numbered(match) -> str:
                if match.group(1) not in order:
                    order.append(match.group(1))
                return f"${order.index(match.group(1)) + 1}"

            sql = re.sub(r"%\((\w+)\)s", numbered, str(compiled))
            rendered = self._rendered[engine.dialect.name] = (sql, literals, tuple(order))
        return rendered


class AutocommitReads:
    """The few PostgreSQL connections an engine keeps for ``ReadStatement``: autocommit, statements prepared.

    Taken from the engine (its connect arguments and events apply) and detached from its pool;
    a read takes an idle one or opens another, and gives it back afterwards, keeping at most
    ``IDLE`` of them (one per thread at work in practice). A connection that fails is closed,
    never reused; the read is tried once more on a new one only when the old one had broken
    (a restarted server, a dropped socket). ``engine.dispose()`` closes them with the pool.
    """

    IDLE = 4
    _by_engine: dict[int, "AutocommitReads"] = {}

    def __init__(self, engine: Engine):
        self.engine = engine
        self.idle: list = []
        self.pid = os.getpid()

    @classmethod
    def of(cls, engine: Engine) -> "AutocommitReads":
        reads = cls._by_engine.get(id(engine))
        if reads is None or reads.engine is not engine or reads.pid != os.getpid():
            from sqlalchemy import event

            # A forked worker never uses its parent's sockets: it starts with none.
            reads = cls._by_engine[id(engine)] = cls(engine)
            if not event.contains(engine, "engine_disposed", cls._disposed):
                event.listen(engine, "engine_disposed", cls._disposed)
        return reads

    @classmethod
    def _disposed(cls, engine: Engine) -> None:
        reads = cls._by_engine.pop(id(engine), None)
        if reads is not None and reads.pid == os.getpid():
            while reads.idle:
                reads.idle.pop()[0].close()

    def first_row(self, name: bytes, sql: str, values: list):
        try:
            held = self.idle.pop()
        except IndexError:
            held = self._open()
        try:
            row = self._run(held, name, sql, values)
        except _Broken:
            held = self._open()
            row = self._run(held, name, sql, values)
        if len(self.idle) < self.IDLE:
            self.idle.append(held)
        else:
            held[0].close()
        return row

    def _open(self):
        from psycopg.adapt import Transformer

        pooled = self.engine.raw_connection()
        conn = pooled.driver_connection
        pooled.detach()  # its life is ours now, not the pool's
        conn.autocommit = True
        # These connections run only ReadStatements, each written for one plan (index lookups by a key).
        # Left to choose, PostgreSQL kept re-planning the read by resident id on every call (a custom
        # plan costs less than its estimate of the generic one), which doubled the database's time.
        conn.execute("SET plan_cache_mode = force_generic_plan")
        return conn, Transformer(conn), set()

    def _run(self, held, name: bytes, sql: str, values: list):
        from psycopg import pq
        from psycopg.adapt import PyFormat

        conn, transformer, prepared = held
        pgconn = conn.pgconn
        try:
            if name not in prepared:
                _check(pgconn, pgconn.prepare(name, sql.encode()), pq.ExecStatus.COMMAND_OK)
                prepared.add(name)
            params = transformer.dump_sequence(values, [PyFormat.TEXT] * len(values))
            result = _check(pgconn, pgconn.exec_prepared(name, params), pq.ExecStatus.TUPLES_OK)
        except BaseException:
            conn.close()
            raise
        if not result.ntuples:
            return None
        transformer.set_pgresult(result)
        return transformer.load_row(0, tuple)


class _Broken(Exception):
    """The connection a read was sent on has broken; the read may go again on a new one."""


def _check(pgconn, result, wanted):
    from psycopg import errors, pq

    if result.status == wanted:
        return result
    if pgconn.status == pq.ConnStatus.BAD:
        raise _Broken()
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    error = errors.lookup(sqlstate.decode()) if sqlstate else errors.DatabaseError
    raise error((result.error_message or b"").decode("utf-8", "replace").strip())


class SessionWriter:
    """A ``BulkWriter`` on a session's connection, for any database: an executemany per call.

    The tables are the models' own (``Base.metadata``), so every value is bound
    as the ORM binds it (UTC times, JSON). For set-based writes of moderate
    batches from plain SQLAlchemy code (a backfill, the demo's history); the
    bulk ingest has a faster writer per database.
    """

    IDS_PER_SELECT = 500

    def __init__(self, session):
        self.session = session

    def _table(self, name: str):
        return Base.metadata.tables[name]

    def insert(self, table: str, columns, rows, same=None) -> None:
        self._execute(self._insert(table), columns, rows, same)

    def insert_new(self, table: str, columns, rows, unique, same=None) -> None:
        statement = self._insert(table, dialect=self.session.get_bind().dialect.name)
        self._execute(statement.on_conflict_do_nothing(index_elements=key_columns(unique)), columns, rows, same)

    def insert_or_add(self, table: str, columns, rows, key, where: str, adding, same=None) -> None:
        from sqlalchemy import text

        target = self._table(table)
        statement = self._insert(table, dialect=self.session.get_bind().dialect.name)
        statement = statement.on_conflict_do_update(
            index_elements=list(key), index_where=text(where),
            set_={column: target.c[column] + statement.excluded[column] for column in adding})
        self._execute(statement, columns, rows, same)

    def _insert(self, table: str, dialect: str = ""):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy import insert
        return insert(self._table(table))

    def _execute(self, statement, columns, rows, same) -> None:
        same = dict(same or {})
        params = [{**dict(zip(columns, row)), **same} for row in rows]
        if params:
            self.session.connection().execute(statement, params)

    def add_amounts(self, table: str, amounts: Mapping[int, object], moves, same=None, returning: str = "id") -> dict:
        if not amounts:
            return {}
        from sqlalchemy import bindparam, select, update

        target = self._table(table)
        names = list(dict.fromkeys(name for _column, name in moves))
        values = {column: target.c[column] + bindparam(f"amount_{name}") for column, name in moves}
        statement = update(target).where(target.c.id == bindparam("row_id")).values({**values, **(same or {})})
        connection = self.session.connection()
        connection.execute(statement, [{"row_id": row_id, **{f"amount_{name}": getattr(amount, name) for name in names}}
                                       for row_id, amount in amounts.items()])
        ids, found = list(amounts), {}
        for start in range(0, len(ids), self.IDS_PER_SELECT):
            chunk = ids[start:start + self.IDS_PER_SELECT]
            found.update(connection.execute(select(target.c.id, target.c[returning]).where(target.c.id.in_(chunk))).all())
        return found
