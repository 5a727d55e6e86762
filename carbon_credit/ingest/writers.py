"""Set-based writes of one batch, per database: COPY on PostgreSQL, executemany on SQLite.

Both writers run inside the batch's one transaction and do the same things in
the same order: take the source's lock, find the batch's trip ids already
known, map card hashes to residents, lock those residents' accounts (in id
order, as the single-action path does), read their committed cap usage,
allocate ids, write actions, credits, ledger lots and unmatched trips, move
balances once per account, queue one digest per resident and day.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import event

from ..rules.usage import CommittedUsage

WRITERS: dict = {}


class StatementDuringCopy(RuntimeError):
    """A statement was sent on a batch's connection while a COPY was streaming on it.

    The connection is busy until the COPY ends, so such a statement would wait
    for ever (the batch would never commit); it is refused at once instead.
    """


def register_writer(dialect: str):
    def wrap(cls):
        WRITERS[dialect] = cls
        return cls

    return wrap


def writer_for(session, statement_timeout: Optional[float] = None):
    """A writer on the connection of the session's current transaction (call once per batch).

    ``statement_timeout`` (seconds) bounds every statement of the batch where
    the database can (PostgreSQL): a batch that waits longer fails instead of hanging.
    """
    return WRITERS[session.get_bind().dialect.name](session, statement_timeout)


def trip_renderer(session):
    """The writer's ``render_trip(trip, source)``: what it can render of a trip with no database at hand.

    The runner calls it in the reading thread, so that work overlaps the database work of the batch before.
    """
    return WRITERS[session.get_bind().dialect.name].render_trip


@contextmanager
def run_lock(engine, run_id: int):
    """On PostgreSQL, a lock held on its own connection for the whole run: one run of a file at a time.

    Yields False when another process holds it. SQLite allows one writer anyway.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        held = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock(7301, {int(run_id)})").scalar()
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock(7301, {int(run_id)})")
                conn.commit()


ACTION_COLS = ("id", "resident_id", "action_type", "quantity", "unit", "occurred_at", "source", "evidence",
               "idem_scope", "external_id", "attributes", "status", "review_note", "created_at")
CREDIT_COLS = ("id", "action_id", "resident_id", "action_type", "local_day", "rule_set_id", "rule_version", "status",
               "quantity", "cap_tag", "grams", "points", "trace", "trace_form_id", "created_at")
LEDGER_COLS = ("account_id", "kind", "points", "grams", "remaining", "expires_at", "credit_id", "reason",
               "created_at")
UNMATCHED_COLS = ("source", "external_id", "card_hash", "action_type", "quantity", "unit", "occurred_at", "local_day",
                  "attributes", "created_at")
NOTE_COLS = ("resident_id", "kind", "payload", "dedupe_key", "status", "attempts", "next_attempt_at", "last_error",
             "created_at")


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a datetime in SQLite (naive UTC, microseconds)."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


NULL = "\\N"
_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(value: str) -> str:
    """A text value in COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_SPECIAL)
    return value


def copy_trace(credited) -> str:
    """The credit's trace in COPY format, escaped once per memoised outcome."""
    if credited.copy_text is None:
        credited.copy_text = copy_escape(credited.trace_json)
    return credited.copy_text


def trip_attributes(trip) -> str:
    """What the action keeps of the trip besides its type, quantity and boarding time (JSON)."""
    if trip.attributes_json:
        return trip.attributes_json
    return f'{{"mode":"{trip.mode}","alight_at":"{trip.alight.isoformat()}"}}'


# Lists travel as one newline-joined text that the server splits: far cheaper than adapting an array
# value by value. Safe because none of the values can hold a newline: trip ids with control characters
# are rejected when read, hashes are hex, numbers are numbers, payloads are JSON (which escapes them).
TEXTS = "string_to_array(%%(%s)s, chr(10))"
BIGINTS = "string_to_array(%%(%s)s, chr(10))::bigint[]"


def joined(values) -> str:
    return "\n".join(map(str, values))


def source_lock_key(source: str) -> int:
    """A stable signed 64-bit advisory lock key for one ingest source."""
    return zlib.crc32(f"ingest:{source}".encode()) - (1 << 31)


def new_forms(batch) -> dict:
    """The trace forms this batch's credits point to that are not stored yet, by digest."""
    forms = {}
    for m in batch.matched:
        form = m.credited.form
        if form is not None and form.form_id is None:
            forms[form.digest] = form
    return forms


def form_id(credited) -> str:
    return NULL if credited.form is None else str(credited.form.form_id)


class BaseWriter:
    def __init__(self, session, statement_timeout: Optional[float] = None):
        self.session = session
        self.connection = session.connection()
        self.raw = self.connection.connection.driver_connection
        self.statement_timeout = statement_timeout

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
        for digest, found in self._upsert_forms(forms, batch.now_s):
            forms[digest].form_id = found

    def fmt_time(self, moment: datetime) -> str:
        raise NotImplementedError

    def digest_rows(self, digests: dict, balances: dict, now_s: str):
        """(resident, day) -> [points, grams, trips, account] as notification rows."""
        # Every value is a number or an ISO date, so the JSON is written directly (json.dumps per row
        # was a tenth of a batch's own Python time); a test compares it with json.dumps.
        for (resident_id, day), (points, grams, trips, account_id) in digests.items():
            balance = balances.get(account_id)
            day_s = day.isoformat()
            payload = (f'{{"action_type": "transit", "points": {points}, "grams": {grams}, "trips": {trips}, '
                       f'"balance": {"null" if balance is None else balance}, "occurred_at": "{day_s}"}}')
            yield (resident_id, "credit", payload, f"transit:{day_s}:{resident_id}", "pending", 0,
                   now_s, "", now_s)


@register_writer("postgresql")
class PostgresWriter(BaseWriter):
    def fmt_time(self, moment: datetime) -> str:
        return moment.isoformat()

    @staticmethod
    def render_trip(trip, source: str) -> None:
        """The COPY text of the action's and the credit's columns that depend on the trip alone."""
        trip.action_text = (f"{trip.action_type}\t{trip.quantity}\t{trip.unit}\t{trip.board.isoformat()}\t"
                            f"partner_feed\tpartner\t{copy_escape(source)}\t{copy_escape(trip.trip_id)}\t"
                            f"{trip_attributes(trip)}")
        trip.credit_text = (f"{trip.action_type}\t{trip.day.isoformat()}\t{trip.rule_set.id}\t"
                            f"{trip.rule_set.version}")

    # A batch looks up some 20,000 keys in tables that grow by as many rows per batch. Statistics lag
    # behind a load by design, and with them the planner flips to scanning whole tables (the trip ids,
    # cap usage and accounts) once per batch, which makes a long run quadratic; parallel workers and JIT
    # would take the core the crediting needs. Index lookups cost the same at any table size.
    PLAN_SETTINGS = (("enable_seqscan", "off"), ("enable_bitmapscan", "off"), ("enable_hashjoin", "off"),
                     ("enable_mergejoin", "off"), ("max_parallel_workers_per_gather", "0"), ("jit", "off"))

    def lock_source(self, source: str) -> None:
        """The statement timeout, the source's lock, and index lookups for the rest of the batch's transaction."""
        if self.statement_timeout:
            self.raw.execute("SELECT set_config('statement_timeout', %s, true)",
                             (f"{max(1, int(self.statement_timeout * 1000))}ms",))
        settings = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in self.PLAN_SETTINGS)
        self.raw.execute(f"SELECT pg_advisory_xact_lock(%s), {settings}", (source_lock_key(source),))

    # Each key is probed through a LATERAL subquery, not matched with "= ANY(array)" or a plain join.
    # With thousands of keys the planner applied ANY as a filter over the whole (idem_scope,
    # external_id) range or the whole card index, so each batch read every trip stored so far (a
    # 2 M-row re-run: 7 s per batch instead of 0.1 s); and a plain join lets it put a freshly
    # loaded table with stale statistics on the outside, which is as bad. LATERAL fixes the order:
    # one index probe per key, whatever the statistics say.
    def known_ids(self, source: str, trip_ids: list) -> set:
        rows = self.raw.execute(
            f"SELECT v.id FROM unnest({TEXTS % 'ids'}) AS v(id) CROSS JOIN LATERAL ("
            "SELECT 1 FROM green_actions g WHERE g.idem_scope = %(s)s AND g.external_id = v.id "
            "UNION ALL SELECT 1 FROM unmatched_trips u WHERE u.source = %(s)s AND u.external_id = v.id "
            "LIMIT 1) AS known", {"s": source, "ids": joined(trip_ids)}).fetchall()
        return {row[0] for row in rows}

    def residents_for(self, hashes: list) -> dict:
        rows = self.raw.execute(
            f"SELECT v.h, o.resident_id, o.account_id, o.reachable FROM unnest({TEXTS % 'h'}) AS v(h) "
            "CROSS JOIN LATERAL (SELECT c.resident_id, a.id AS account_id, r.openid IS NOT NULL AS reachable "
            "FROM transit_cards c JOIN residents r ON r.id = c.resident_id "
            "JOIN accounts a ON a.resident_id = c.resident_id "
            "WHERE c.active_hash = v.h AND r.status = 'active') AS o", {"h": joined(hashes)}).fetchall()
        return {h: (rid, aid, bool(reachable)) for h, rid, aid, reachable in rows}

    def lock_accounts(self, account_ids: list) -> None:
        self.raw.execute(f"SELECT id FROM accounts WHERE id = ANY({BIGINTS % 'ids'}) ORDER BY id FOR UPDATE",
                         {"ids": joined(sorted(account_ids))}).fetchall()

    def usage_rows(self, resident_ids: list, day_from, day_to) -> list:
        return [CommittedUsage(*row) for row in self.raw.execute(
            "SELECT resident_id, local_day, action_type, cap_tag, count(*), coalesce(sum(quantity), 0), "
            "coalesce(sum(grams), 0), coalesce(sum(points), 0) FROM credits "
            f"WHERE resident_id = ANY({BIGINTS % 'ids'}) AND local_day >= %(lo)s AND local_day < %(hi)s "
            "AND status = 'credited' GROUP BY resident_id, local_day, action_type, cap_tag",
            {"ids": joined(resident_ids), "lo": day_from, "hi": day_to})]

    def allocate(self, counts: dict) -> dict:
        """Ids for every table of the batch from their sequences, in one round trip.

        The sequences are looked up once per statement (a materialised CTE), not
        once per id: pg_get_serial_sequence per row cost ten times the nextval.
        """
        n = max(counts.values(), default=0)
        if n == 0:
            return {table: [] for table in counts}
        tables = list(counts)
        sequences = ", ".join(f"pg_get_serial_sequence('{t}', 'id')::regclass AS s{i}" for i, t in enumerate(tables))
        arrays = ", ".join(f"array_agg(nextval(q.s{i}))" for i in range(len(tables)))
        with self.raw.cursor(binary=True) as cur:
            row = cur.execute(f"WITH q AS MATERIALIZED (SELECT {sequences}) "
                              f"SELECT {arrays} FROM q, generate_series(1, %s)", (n,)).fetchone()
        return {table: row[i][:counts[table]] for i, table in enumerate(tables)}

    def copy(self, table: str, cols: tuple, lines) -> None:
        """COPY the lines as they are made: the server stores earlier rows while later ones are made."""
        with self.raw.cursor() as cur, self.streaming(table):
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                buffer = []
                for line in lines:
                    buffer.append(line)
                    if len(buffer) >= 2000:
                        copy.write("".join(buffer))
                        buffer.clear()
                if buffer:
                    copy.write("".join(buffer))

    def _upsert_forms(self, forms: dict, now_s: str) -> list:
        digests = list(forms)
        self.raw.execute(
            "INSERT INTO trace_forms (digest, body, created_at) SELECT d, b::json, %s "
            "FROM unnest(%b::text[], %b::text[]) AS v(d, b) ORDER BY d ON CONFLICT (digest) DO NOTHING",
            (now_s, digests, [forms[d].body_json for d in digests]))
        return self.raw.execute("SELECT digest, id FROM trace_forms WHERE digest = ANY(%b)", (digests,)).fetchall()

    def write_batch(self, batch) -> None:
        esc, now_s, scope = copy_escape, batch.now_s, copy_escape(batch.source)
        expires_s = batch.expires_at.isoformat()
        credit = batch.credit
        for m in batch.matched:
            if m.trip.action_text is None:
                self.render_trip(m.trip, batch.source)
        self.copy("green_actions", ACTION_COLS, (
            f"{m.action_id}\t{m.resident_id}\t{m.trip.action_text}\t{credit(m).status}\t\t{now_s}\n"
            for m in batch.matched))
        self.store_forms(batch)
        self.copy("credits", CREDIT_COLS, (
            f"{m.credit_id}\t{m.action_id}\t{m.resident_id}\t{m.trip.credit_text}\t{m.credited.status}\t"
            f"{m.trip.quantity}\t{NULL if m.credited.cap_tag is None else esc(m.credited.cap_tag)}\t"
            f"{m.credited.grams}\t{m.credited.points}\t{copy_trace(m.credited)}\t{form_id(m.credited)}\t"
            f"{now_s}\n" for m in batch.matched))
        self.copy("ledger_entries", LEDGER_COLS, (
            f"{m.account_id}\tearn\t{m.credited.points}\t{m.credited.grams}\t{m.credited.points}\t"
            f"{expires_s}\t{m.credit_id}\t{m.trip.action_type}\t{now_s}\n"
            for m in batch.matched if m.earns))
        self.copy("unmatched_trips", UNMATCHED_COLS, (
            f"{scope}\t{esc(u.trip.trip_id)}\t{u.card_hash}\t{u.trip.action_type}\t{u.trip.quantity}\t"
            f"{u.trip.unit}\t{u.trip.board.isoformat()}\t{u.day.isoformat()}\t{trip_attributes(u.trip)}\t{now_s}\n"
            for u in batch.unknown))

    def update_accounts(self, sums: dict, now_s: str) -> dict:
        if not sums:
            return {}
        ids = list(sums)
        rows = self.raw.execute(
            "UPDATE accounts a SET balance = a.balance + v.points, earned_total = a.earned_total + v.points, "
            "grams_total = a.grams_total + v.grams, updated_at = %(now)s "
            f"FROM unnest({BIGINTS % 'ids'}, {BIGINTS % 'points'}, {BIGINTS % 'grams'}) AS v(id, points, grams) "
            "WHERE a.id = v.id RETURNING a.id, a.balance",
            {"now": now_s, "ids": joined(ids), "points": joined(sums[i][0] for i in ids),
             "grams": joined(sums[i][1] for i in ids)}).fetchall()
        return dict(rows)

    def queue_digests(self, rows: list) -> None:
        if not rows:
            return
        now_s = rows[0][6]
        self.raw.execute(
            "INSERT INTO notifications (resident_id, kind, payload, dedupe_key, status, attempts, next_attempt_at, "
            "last_error, created_at) SELECT v.rid, 'credit', v.payload::json, v.dkey, 'pending', 0, %(now)s, '', "
            f"%(now)s FROM unnest({BIGINTS % 'rid'}, {TEXTS % 'payload'}, {TEXTS % 'dkey'}) AS v(rid, payload, dkey) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            {"now": now_s, "rid": joined(r[0] for r in rows), "payload": joined(r[2] for r in rows),
             "dkey": joined(r[3] for r in rows)})


@register_writer("sqlite")
class SQLiteWriter(BaseWriter):
    """SQLite has one writer at a time: the batch transaction already excludes other runs."""

    def fmt_time(self, moment: datetime) -> str:
        return sqlite_time(moment)

    @staticmethod
    def render_trip(trip, source: str) -> None:
        """The action's column values that depend on the trip alone."""
        trip.action_text = (trip.action_type, str(trip.quantity), trip.unit, sqlite_time(trip.board), "partner_feed",
                            "partner", source, trip.trip_id, trip_attributes(trip))

    # Per-connection settings while a run writes (speed only: they change nothing a reader sees).
    # SQLite's 2 MB default page cache holds few of the index pages a batch probes and extends at
    # random places. And the WAL passes its 1,000-page checkpoint threshold in every batch, so each
    # commit wrote the same hot index pages back into the database file again. With 64 MB and a
    # checkpoint about every 400 MB of WAL, a 2 M-trip file loaded in 140 s instead of 165 s.
    BULK_PRAGMAS = (("cache_size", -65536), ("wal_autocheckpoint", 100_000))
    DEFAULT_PRAGMAS = (("cache_size", -2000), ("wal_autocheckpoint", 1000))

    def lock_source(self, source: str) -> None:
        for name, value in self.BULK_PRAGMAS:  # each batch: the pool may hand out another connection
            self.raw.execute(f"PRAGMA {name} = {value}")
        # Take the write lock now (an empty write), so reads below see a stable database.
        self.raw.execute("UPDATE ingest_runs SET source = source WHERE 0")

    def _in(self, sql: str, values: list, extra: tuple = ()) -> list:
        found = []
        for start in range(0, len(values), 900):
            chunk = values[start:start + 900]
            marks = ",".join("?" * len(chunk))
            found += self.raw.execute(sql.replace("(IN)", f"({marks})"), (*extra, *chunk)).fetchall()
        return found

    def known_ids(self, source: str, trip_ids: list) -> set:
        rows = self._in("SELECT external_id FROM green_actions WHERE idem_scope = ? AND external_id IN (IN)",
                        trip_ids, (source,))
        rows += self._in("SELECT external_id FROM unmatched_trips WHERE source = ? AND external_id IN (IN)",
                         trip_ids, (source,))
        return {row[0] for row in rows}

    def residents_for(self, hashes: list) -> dict:
        rows = self._in("SELECT c.active_hash, c.resident_id, a.id, r.openid IS NOT NULL FROM transit_cards c "
                        "JOIN residents r ON r.id = c.resident_id JOIN accounts a ON a.resident_id = c.resident_id "
                        "WHERE r.status = 'active' AND c.active_hash IN (IN)", hashes)
        return {h: (rid, aid, bool(reachable)) for h, rid, aid, reachable in rows}

    def lock_accounts(self, account_ids: list) -> None:
        return None  # the database-wide write lock is held

    def usage_rows(self, resident_ids: list, day_from, day_to) -> list:
        rows = self._in("SELECT resident_id, local_day, action_type, cap_tag, count(*), coalesce(sum(quantity), 0), "
                        "coalesce(sum(grams), 0), coalesce(sum(points), 0) FROM credits "
                        "WHERE local_day >= ? AND local_day < ? AND status = 'credited' AND resident_id IN (IN) "
                        "GROUP BY resident_id, local_day, action_type, cap_tag",
                        resident_ids, (day_from.isoformat(), day_to.isoformat()))
        return [CommittedUsage(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], Decimal(str(r[5])), r[6], r[7])
                for r in rows]

    def allocate(self, counts: dict) -> dict:
        ids = {}
        for table, n in counts.items():
            start = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            ids[table] = list(range(start + 1, start + 1 + n))
        return ids

    def insert(self, table: str, cols: tuple, rows) -> None:
        marks = ",".join("?" * len(cols))
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)

    def _upsert_forms(self, forms: dict, now_s: str) -> list:
        self.raw.executemany("INSERT OR IGNORE INTO trace_forms (digest, body, created_at) VALUES (?, ?, ?)",
                             [(digest, form.body_json, now_s) for digest, form in sorted(forms.items())])
        return self._in("SELECT digest, id FROM trace_forms WHERE digest IN (IN)", list(forms))

    def write_batch(self, batch) -> None:
        t, now_s, scope = self.fmt_time, batch.now_s, batch.source
        expires_s = t(batch.expires_at)
        credit = batch.credit
        for m in batch.matched:
            if m.trip.action_text is None:
                self.render_trip(m.trip, batch.source)
        self.insert("green_actions", ACTION_COLS, [
            (m.action_id, m.resident_id, *m.trip.action_text, credit(m).status, "", now_s) for m in batch.matched])
        self.store_forms(batch)
        self.insert("credits", CREDIT_COLS, [
            (m.credit_id, m.action_id, m.resident_id, m.trip.action_type, m.day.isoformat(), m.trip.rule_set.id,
             m.trip.rule_set.version, m.credited.status, str(m.trip.quantity), m.credited.cap_tag, m.credited.grams,
             m.credited.points, m.credited.trace_json, m.credited.form and m.credited.form.form_id, now_s)
            for m in batch.matched])
        self.insert("ledger_entries", LEDGER_COLS, [
            (m.account_id, "earn", m.credited.points, m.credited.grams, m.credited.points, expires_s,
             m.credit_id, m.trip.action_type, now_s) for m in batch.matched if m.earns])
        self.insert("unmatched_trips", UNMATCHED_COLS, [
            (scope, u.trip.trip_id, u.card_hash, u.trip.action_type, str(u.trip.quantity), u.trip.unit,
             t(u.trip.board), u.day.isoformat(), trip_attributes(u.trip), now_s) for u in batch.unknown])

    def update_accounts(self, sums: dict, now_s: str) -> dict:
        self.raw.executemany(
            "UPDATE accounts SET balance = balance + ?, earned_total = earned_total + ?, "
            "grams_total = grams_total + ?, updated_at = ? WHERE id = ?",
            [(p, p, g, now_s, aid) for aid, (p, g) in sums.items()])
        return dict(self._in("SELECT id, balance FROM accounts WHERE id IN (IN)", list(sums))) if sums else {}

    def finish_run(self) -> None:
        """Back to SQLite's defaults, with the run's WAL copied into the database file."""
        for name, value in self.DEFAULT_PRAGMAS:
            self.raw.execute(f"PRAGMA {name} = {value}")
        self.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def queue_digests(self, rows: list) -> None:
        self.raw.executemany(
            "INSERT OR IGNORE INTO notifications (resident_id, kind, payload, dedupe_key, status, attempts, "
            "next_attempt_at, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
