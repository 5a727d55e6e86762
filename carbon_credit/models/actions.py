"""Recorded green actions and the credits computed from them."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (BigInteger, Column, Date, ForeignKey, Index, Integer, MetaData, Numeric, String, Table,
                        Text, UniqueConstraint, Uuid, and_, cast, event, func, inspect, literal_column, text, tuple_)
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from carbon_credit.db import Base, BigID, JSONType, UTCDateTime
from carbon_credit.timeutil import start_of_local_day

ACTION_STATUSES = ("pending_review", "credited", "capped", "rejected")
IN_REVIEW = "status = 'pending_review' OR reviewed_at IS NOT NULL"
EVIDENCE_KINDS = ("partner", "worker", "qr", "self")


def idem_digest_sql(scope, external_id):
    """SQL: the 16-byte digest of an idempotency key, MD5 of ``<length of scope>:<scope><external id>``.

    PostgreSQL's unique index on the key holds this digest (about 40 bytes an
    entry) instead of the two texts (about 64). The length prefix keeps
    ("ab", "c") and ("a", "bc") apart. A query finds a key through the index
    when it compares this same expression over the two columns to the digest.
    """
    return cast(func.md5(cast(func.length(scope), Text) + literal_column("':'", Text) + scope + external_id), Uuid)


def idem_digest(scope: str, external_id: str) -> uuid.UUID:
    """The digest ``idem_digest_sql`` computes (PostgreSQL's length counts characters; MD5 is over UTF-8)."""
    return uuid.UUID(bytes=hashlib.md5(f"{len(scope)}:{scope}{external_id}".encode()).digest())


def idem_key_is(dialect: str, scope: str, external_id: str):
    """The condition that finds the action of one idempotency key through its unique index on ``dialect``."""
    plain = and_(GreenAction.idem_scope == scope, GreenAction.external_id == external_id)
    if dialect != "postgresql":
        return plain
    return and_(idem_digest_sql(GreenAction.idem_scope, GreenAction.external_id) == idem_digest(scope, external_id),
                plain)


def idem_keys_in(dialect: str, keys: list):
    """The condition that finds the actions of many (scope, external id) keys through the unique index."""
    plain = tuple_(GreenAction.idem_scope, GreenAction.external_id).in_(keys)
    if dialect != "postgresql":
        return plain
    return and_(idem_digest_sql(GreenAction.idem_scope, GreenAction.external_id).in_(
        [idem_digest(scope, external_id) for scope, external_id in keys]), plain)


class GreenAction(Base):
    """One behaviour of one resident. ``(idem_scope, external_id)`` is the idempotency key."""

    __tablename__ = "green_actions"
    __table_args__ = (
        # The idempotency key, once: PostgreSQL indexes its 16-byte digest, SQLite the two texts.
        UniqueConstraint("idem_scope", "external_id").ddl_if(dialect="sqlite"),
        Index("uq_green_actions_idem_digest",
              idem_digest_sql(literal_column("idem_scope", String), literal_column("external_id", String)),
              unique=True).ddl_if(dialect="postgresql"),
        Index("ix_green_actions_resident_occurred", "resident_id", "occurred_at"),
        # The review queue: only actions that are or were under review, never the millions of bulk trips.
        Index("ix_green_actions_in_review", "status", "action_type",
              postgresql_where=text(IN_REVIEW), sqlite_where=text(IN_REVIEW)),
    )
    # The 8-byte columns first, then the 4-byte ones, then the texts (which need no alignment): in this
    # order PostgreSQL pads no row. A table keeps the order it was created with; one created before
    # this order keeps its own (about 7 bytes more per row) until it is rebuilt.
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    reviewed_at: Mapped[Optional[datetime]]
    # The credit's columns (``Credit``, the view ``credits``): all NULL until the action is credited.
    grams: Mapped[Optional[int]] = mapped_column(BigInteger)
    points: Mapped[Optional[int]] = mapped_column(BigInteger)
    # A frozen row that is never deleted: no foreign key, so bulk ingest pays no check for it.
    trace_form_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    credited_at: Mapped[Optional[datetime]]
    reviewed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    recorded_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    local_day: Mapped[Optional[date]] = mapped_column(Date)  # Shanghai date of the action, once credited
    rule_set_id: Mapped[Optional[int]] = mapped_column(Integer)
    rule_version: Mapped[Optional[int]] = mapped_column(Integer)
    # Action types are never deleted (only deactivated), so the code needs no per-row foreign-key check:
    # bulk ingest writes millions of these rows and every check is an index probe and a row lock.
    action_type: Mapped[str] = mapped_column(String(48))
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(24))  # partner_feed | station_device | worker | self_report | qr_checkin
    evidence: Mapped[str] = mapped_column(String(16))  # partner | worker | qr | self
    status: Mapped[str] = mapped_column(String(16))
    idem_scope: Mapped[str] = mapped_column(String(48))
    external_id: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[Optional[str]] = mapped_column(String(64))
    attributes: Mapped[dict] = mapped_column(default=dict)
    review_note: Mapped[str] = mapped_column(String(256), default="")
    # Partition of a "per" cap, e.g. the appliance category for one-per-category-per-year.
    cap_tag: Mapped[Optional[str]] = mapped_column(String(48))
    # The credit's whole trace (a dict), or with a trace form the list of its caps' figures.
    credit_trace: Mapped[Optional[dict]] = mapped_column("trace", JSONType)
    credit: Mapped[Optional["Credit"]] = relationship(
        primaryjoin="GreenAction.id == foreign(Credit.id)", uselist=False, viewonly=True)

    def set_credit(self, *, local_day: date, rule_set_id: int, rule_version: int, status: str, cap_tag, grams: int,
                   points: int, trace, credited_at: datetime, trace_form_id: Optional[int] = None) -> None:
        """Write the credit onto the action (its row is the credit's row; ``Credit`` reads it)."""
        self.local_day, self.rule_set_id, self.rule_version, self.status = local_day, rule_set_id, rule_version, status
        self.cap_tag, self.grams, self.points, self.credited_at = cap_tag, grams, points, credited_at
        self.credit_trace, self.trace_form_id = trace, trace_form_id


def fill_trace_form(body: dict, used: list) -> dict:
    """A whole trace from a shared form and what one credit stored: its caps' ``used_before`` figures, in order."""
    trace = dict(body)
    trace["caps"] = [dict(step, used_before=figure) for step, figure in zip(body.get("caps") or [], used or [])]
    return trace


class TraceForm(Base):
    """The part of a trace that many credits share: rule version, method, factor and source, weights, caps.

    Bulk ingest credits millions of trips whose traces differ only in what each
    cap had used before; those credits point here and store just those figures.
    A form is written once and never changed (its digest is the SHA-256 of the body).
    """

    __tablename__ = "trace_forms"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict]
    created_at: Mapped[datetime]


# The columns an action's credit is read through: the view ``credits`` over the credited actions.
CREDIT_VIEW_COLUMNS = ("id", "resident_id", "grams", "points", "trace_form_id", "credited_at AS created_at", "local_day",
                       "rule_set_id", "rule_version", "action_type", "status", "quantity", "cap_tag", "trace")
CREATE_CREDITS_VIEW = (f"CREATE VIEW {{schema}}credits AS SELECT {', '.join(CREDIT_VIEW_COLUMNS)} "
                       "FROM {schema}green_actions WHERE local_day IS NOT NULL")
# Views are not tables: they live on a metadata of their own, which neither create_all nor Alembic sees.
VIEWS = MetaData()


class Credit(Base):
    """The outcome of applying a rule to an action, with everything needed to explain it (read-only).

    An action has at most one credit, and the credit is stored on the action's
    own row (``GreenAction.set_credit``): one row per trip, one header, one
    primary key. ``credits`` is a view of the credited actions under the names
    a credit has always had; its ``id`` is the action's id.
    ``trace`` is the whole explanation. It is stored either in full, or as a
    shared ``trace_form`` plus this credit's own figures (``stored_trace``: the
    list of what each cap had used before, e.g. ``["0","3"]``).

    A resident's credits are found through their actions' (resident_id,
    occurred_at) index (``credit_days``).
    """

    __tablename__ = "credits"
    __table__ = Table(
        "credits", VIEWS,
        Column("id", BigInteger, primary_key=True),
        Column("resident_id", BigInteger),
        Column("grams", BigInteger),
        Column("points", BigInteger),
        Column("trace_form_id", BigInteger),
        Column("created_at", UTCDateTime()),
        Column("local_day", Date),
        Column("rule_set_id", Integer),
        Column("rule_version", Integer),
        Column("action_type", String(48)),
        Column("status", String(16)),  # credited | capped
        Column("quantity", Numeric(14, 3)),
        Column("cap_tag", String(48)),
        Column("trace", JSONType),
    )
    stored_trace = __table__.c.trace
    action: Mapped[GreenAction] = relationship(primaryjoin="foreign(Credit.id) == GreenAction.id", viewonly=True)
    # The id under the name callers know it by.
    action_id = synonym("id", descriptor=property(lambda credit: credit.id))
    trace_form: Mapped[Optional[TraceForm]] = relationship(primaryjoin="foreign(Credit.trace_form_id) == TraceForm.id",
                                                           viewonly=True)

    @property
    def trace(self) -> dict:
        if self.trace_form_id is None:
            return self.stored_trace
        return fill_trace_form(self.trace_form.body, self.stored_trace)


def _schema_of(table, connection) -> tuple:
    """The schema ``table`` is created in on ``connection`` (its schema_translate_map) and its SQL prefix."""
    schema = (connection.get_execution_options().get("schema_translate_map") or {}).get(table.schema, table.schema)
    return schema, (f'"{schema}".' if schema else "")


@event.listens_for(GreenAction.__table__, "after_create")
def _create_credits_view(table, connection, **kw) -> None:
    connection.exec_driver_sql(CREATE_CREDITS_VIEW.format(schema=_schema_of(table, connection)[1]))


@event.listens_for(GreenAction.__table__, "before_drop")
def _drop_credits_view(table, connection, **kw) -> None:
    """Before the actions go, their credits: the view, or the table that a database made before it still has."""
    schema, prefix = _schema_of(table, connection)
    kind = "TABLE" if "credits" in inspect(connection).get_table_names(schema=schema) else "VIEW"
    connection.exec_driver_sql(f"DROP {kind} IF EXISTS {prefix}credits")


def credit_days(first: date, after: date) -> tuple:
    """Conditions for credits of the Shanghai days [first, after), joined to their actions (``Credit.id``).

    A credit's local day is its action's Shanghai day, so the actions' time
    window bounds the scan of the (resident_id, occurred_at) index; the day
    condition on the credit keeps the result exactly what the days select.
    """
    return (GreenAction.occurred_at >= start_of_local_day(first), GreenAction.occurred_at < start_of_local_day(after),
            Credit.local_day >= first, Credit.local_day < after)
