"""What the writers of every database share: the batch's columns, the rows' owners, the streaming guard.

A writer runs inside the batch's one transaction and does the same things in
the same order on every database: take the source's lock, find the batch's
trip ids already known, map card hashes to residents, lock those residents'
accounts (in id order, as the single-action path does), read their committed
cap usage, allocate ids, write the actions with their credits (crediting the
trips in time order), the new trace forms and the unmatched trips. Ledger
lots, balances and digests are the ledger's and the notifications' own set-based writes (``ledger.add_earn_lots`` …), which a
writer serves as a ``db.BulkWriter``.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import event

from carbon_credit.timeutil import start_of_local_day

# An action row holds its credit (``GreenAction.set_credit``): one row per trip.
ACTION_COLS = ("id", "resident_id", "action_type", "quantity", "unit", "occurred_at", "source", "evidence",
               "idem_scope", "external_id", "attributes", "status", "review_note", "created_at",
               "local_day", "rule_set_id", "rule_version", "cap_tag", "grams", "points", "trace", "trace_form_id",
               "credited_at")
UNMATCHED_COLS = ("source", "external_id", "card_hash", "action_type", "quantity", "unit", "occurred_at", "local_day",
                  "attributes", "created_at")
# Every action of the file is the partner's: recorded as its feed, on its evidence.
ACTION_SOURCE, ACTION_EVIDENCE = "partner_feed", "partner"


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a card: the resident, their account, and whether a message can reach them."""

    resident_id: int
    account_id: int
    reachable: bool  # active and following the official account


class StatementDuringCopy(RuntimeError):
    """A statement was sent on a batch's connection while a COPY was streaming on it.

    The connection is busy until the COPY ends, so such a statement would wait
    for ever (the batch would never commit); it is refused at once instead.
    """


def usage_window_times(day_from, day_to) -> dict:
    """The boarding-time window of the local days [day_from, day_to): it bounds the scan of the actions'
    (resident_id, occurred_at) index that finds a resident's credits (a credit carries its action's id)."""
    return {"since": start_of_local_day(day_from), "until": start_of_local_day(day_to)}


def new_forms(batch) -> dict:
    """The trace forms this batch's credits point to that are not stored yet, by digest."""
    forms = {}
    for m in batch.matched:
        form = m.credited.form
        if form is not None and form.form_id is None:
            forms[form.digest] = form
    return forms


class BaseWriter:
    """One batch's writes on one database; subclasses give the statements (see ``writers.writer_classes``)."""

    def __init__(self, session, statement_timeout: Optional[float] = None):
        self.session = session
        self.connection = session.connection()
        self.raw = self.connection.connection.driver_connection
        self.statement_timeout = statement_timeout

    @staticmethod
    @contextmanager
    def run_lock(engine, run_id: int):
        """Held for a whole run so one file runs once at a time; yields False when another process holds it.

        Where the database allows one writer at a time anyway, there is nothing to hold.
        """
        yield True

    @contextmanager
    def streaming(self, table: str):
        """While rows stream into ``table``, any other statement on this connection fails at once."""

        def refuse(conn, cursor, statement, parameters, context, executemany):
            raise StatementDuringCopy(f"a statement was sent while rows were streaming into {table} on the same "
                                      f"connection (it would wait for ever): {statement[:80]}")

        event.listen(self.connection, "before_cursor_execute", refuse)
        try:
            yield
        finally:
            event.remove(self.connection, "before_cursor_execute", refuse)

    def finish_run(self) -> None:
        """Called once after a run's last commit, outside any batch."""

    def store_forms(self, batch) -> None:
        """Store the batch's new trace forms (once per digest, whoever writes it first) and learn their ids.

        A run's templates outlive its batches, so a form is looked up once per
        run; a run ends at the first error, so no id outlives a rolled-back batch.
        """
        forms = new_forms(batch)
        if not forms:
            return
        for digest, found in self._upsert_forms(forms, batch.now):
            forms[digest].form_id = found

    def _upsert_forms(self, forms: dict, now) -> list:
        raise NotImplementedError
