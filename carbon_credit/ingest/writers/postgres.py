"""The batch's writes on PostgreSQL: COPY streamed while the rules run, lookups probed key by key."""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import String, literal_column
from sqlalchemy.dialects import postgresql

from carbon_credit import models  # noqa: F401  (every table on the metadata, for the column types below)
from carbon_credit.db import Base, key_columns
from carbon_credit.models.actions import idem_digest, idem_digest_sql
from carbon_credit.rules.usage import CommittedUsage
from carbon_credit.ingest.trips import attributes_json
from carbon_credit.ingest.writers.common import (
    ACTION_COLS,
    ACTION_EVIDENCE,
    ACTION_SOURCE,
    UNMATCHED_COLS,
    BaseWriter,
    Owner,
    usage_window_times,
)

NULL = "\\N"
_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
RUN_LOCK_CLASS = 7301  # the first key of a run's advisory lock; the run's id is the second


def copy_escape(value: str) -> str:
    """A text value in COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_SPECIAL)
    return value


def copy_value(value) -> str:
    """Any plain value in COPY's text format (NULL for None)."""
    if value is None:
        return NULL
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is datetime or kind is date:
        return value.isoformat()
    return copy_escape(str(value))


def copy_trace(credited) -> str:
    """The credit's trace in COPY format, escaped once per memoised outcome."""
    if credited.copy_text is None:
        credited.copy_text = copy_escape(credited.trace_json)
    return credited.copy_text


# Lists travel as one newline-joined text that the server splits: far cheaper than adapting an array
# value by value. Safe because none of the values can hold a newline: trip ids with control characters
# are rejected when read, hashes are hex, numbers are numbers, payloads are JSON (which escapes them).
TEXTS = "string_to_array(%%(%s)s, chr(10))"
BIGINTS = "string_to_array(%%(%s)s, chr(10))::bigint[]"


def joined(values) -> str:
    return "\n".join(map(str, values))


# The expression of the actions' idempotency-key index, as the models define it, over the alias ``g``.
IDEM_DIGEST = str(idem_digest_sql(literal_column("g.idem_scope", String), literal_column("g.external_id", String))
                  .compile(dialect=postgresql.dialect()))


def _array(name: str, values: list, sql_type: str, params: dict) -> str:
    """An array parameter as SQL: newline-joined text when no value holds a newline or is NULL, else adapted."""
    texts = [None if v is None else v.isoformat() if isinstance(v, (date, datetime)) else str(v) for v in values]
    if None not in texts and not any("\n" in t for t in texts):
        params[name] = "\n".join(texts)
        return f"string_to_array(%({name})s, chr(10))::{sql_type}[]"
    params[name] = texts
    return f"%({name})s::{sql_type}[]"


@lru_cache(maxsize=64)
def _sql_type(table: str, column: str) -> str:
    return Base.metadata.tables[table].c[column].type.compile(dialect=postgresql.dialect())


def _insert_from_arrays(target: str, table: str, columns, rows: list, same: dict) -> tuple:
    """An INSERT of ``rows`` from one array per column: (``INSERT INTO target (…) SELECT …``, the
    ``unnest(…)`` to select from, the names it gives the columns in ``v``, the parameters).
    ``same`` holds the values every row shares."""
    params: dict = {}
    arrays = [_array(f"c{i}", [row[i] for row in rows], _sql_type(table, column), params)
              for i, column in enumerate(columns)]
    params.update({f"s{i}": value for i, value in enumerate(same.values())})
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    values = ", ".join([*(f"v.c{i}" for i in range(len(columns))), *(f"%(s{i})s" for i in range(len(same)))])
    return (f"INSERT INTO {target} ({', '.join([*columns, *same])}) SELECT {values}",
            f"unnest({', '.join(arrays)})", names, params)


def source_lock_key(source: str) -> int:
    """A stable signed 64-bit advisory lock key for one ingest source."""
    return zlib.crc32(f"ingest:{source}".encode()) - (1 << 31)


class PostgresWriter(BaseWriter):
    @staticmethod
    @contextmanager
    def run_lock(engine, run_id: int):
        """An advisory lock held on its own connection for the whole run."""
        with engine.connect() as conn:
            held = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({RUN_LOCK_CLASS}, {int(run_id)})").scalar()
            conn.commit()
            try:
                yield held
            finally:
                if held:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({RUN_LOCK_CLASS}, {int(run_id)})")
                    conn.commit()

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
    # A trip's action is found through the idempotency key's digest index: each id goes in with its
    # digest (``models.idem_digest``), in digest order, so the probes walk that index in its own order.
    def known_ids(self, source: str, trip_ids: list) -> set:
        pairs = sorted((str(idem_digest(source, trip_id)), trip_id) for trip_id in trip_ids)
        rows = self.raw.execute(
            f"SELECT v.id FROM unnest({TEXTS % 'digests'}::uuid[], {TEXTS % 'ids'}) AS v(d, id) CROSS JOIN LATERAL ("
            f"SELECT 1 FROM green_actions g WHERE {IDEM_DIGEST} = v.d AND g.idem_scope = %(s)s AND g.external_id = v.id "
            "UNION ALL SELECT 1 FROM unmatched_trips u WHERE u.source = %(s)s AND u.external_id = v.id "
            "LIMIT 1) AS known", {"s": source, "digests": joined(d for d, _ in pairs),
                                  "ids": joined(i for _, i in pairs)}).fetchall()
        return {row[0] for row in rows}

    # The hashes go in sorted, so the card index is walked in its own order (neighbouring probes share
    # pages), and each answer names its hash by position instead of sending the 64 characters back.
    def residents_for(self, hashes: list) -> dict:
        ordered = sorted(hashes)
        rows = self.raw.execute(
            f"SELECT v.n, o.resident_id, o.account_id, o.reachable FROM unnest({TEXTS % 'h'}) WITH ORDINALITY "
            "AS v(h, n) CROSS JOIN LATERAL (SELECT c.resident_id, a.id AS account_id, "
            "r.openid IS NOT NULL AS reachable FROM transit_cards c JOIN residents r ON r.id = c.resident_id "
            "JOIN accounts a ON a.resident_id = c.resident_id "
            "WHERE c.active_hash = v.h AND r.status = 'active') AS o", {"h": joined(ordered)}).fetchall()
        return {ordered[n - 1]: Owner(rid, aid, bool(reachable)) for n, rid, aid, reachable in rows}

    def lock_accounts(self, account_ids: list) -> None:
        self.raw.execute(f"SELECT id FROM accounts WHERE id = ANY({BIGINTS % 'ids'}) ORDER BY id FOR UPDATE",
                         {"ids": joined(sorted(account_ids))}).fetchall()

    def usage_rows(self, resident_ids: list, day_from, day_to) -> list:
        return [CommittedUsage(*row) for row in self.raw.execute(
            "SELECT g.resident_id, g.local_day, g.action_type, g.cap_tag, count(*), coalesce(sum(g.quantity), 0), "
            "coalesce(sum(g.grams), 0), coalesce(sum(g.points), 0) FROM green_actions g "
            f"WHERE g.resident_id = ANY({BIGINTS % 'ids'}) AND g.occurred_at >= %(since)s AND g.occurred_at < %(until)s "
            "AND g.local_day >= %(lo)s AND g.local_day < %(hi)s AND g.status = 'credited' "
            "GROUP BY g.resident_id, g.local_day, g.action_type, g.cap_tag",
            {"ids": joined(resident_ids), "lo": day_from, "hi": day_to, **usage_window_times(day_from, day_to)})]

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

    def _upsert_forms(self, forms: dict, now) -> list:
        digests = list(forms)
        self.raw.execute(
            "INSERT INTO trace_forms (digest, body, created_at) SELECT d, b::json, %s "
            "FROM unnest(%b::text[], %b::text[]) AS v(d, b) ORDER BY d ON CONFLICT (digest) DO NOTHING",
            (now, digests, [forms[d].body_json for d in digests]))
        return self.raw.execute("SELECT digest, id FROM trace_forms WHERE digest = ANY(%b)", (digests,)).fetchall()

    def write_batch(self, batch) -> None:
        """Actions with their credits (each trip credited as its row is made), then unmatched trips.

        The rules run while the server stores earlier rows. A row names its
        credit's trace form, so a trip whose form is new to the run (the first
        batch, a new rule version) is held back until the COPY ends and the new
        forms are stored, then written by a second COPY.
        """
        esc, now_s, scope = copy_escape, batch.now.isoformat(), copy_escape(batch.source)
        credit, held = batch.credit, []

        def line(m) -> str:
            return (f"{m.action_id}\t{m.resident_id}\t{m.trip.action_type}\t{m.trip.quantity}\t{m.trip.unit}\t"
                    f"{m.trip.board.isoformat()}\t{ACTION_SOURCE}\t{ACTION_EVIDENCE}\t{scope}\t"
                    f"{esc(m.trip.trip_id)}\t{attributes_json(m.trip)}\t{m.credited.status}\t\t{now_s}\t"
                    f"{m.day.isoformat()}\t{m.trip.rule_set.id}\t{m.trip.rule_set.version}\t"
                    f"{NULL if m.credited.cap_tag is None else esc(m.credited.cap_tag)}\t{m.credited.grams}\t"
                    f"{m.credited.points}\t{copy_trace(m.credited)}\t"
                    f"{NULL if m.credited.form is None else m.credited.form.form_id}\t{now_s}\n")

        def credited_lines():
            for m in batch.matched:
                form = credit(m).form
                if form is not None and form.form_id is None:
                    held.append(m)
                else:
                    yield line(m)

        self.copy("green_actions", ACTION_COLS, credited_lines())
        self.store_forms(batch)
        if held:
            self.copy("green_actions", ACTION_COLS, map(line, held))
        self.copy("unmatched_trips", UNMATCHED_COLS, (
            f"{scope}\t{esc(u.trip.trip_id)}\t{u.card_hash}\t{u.trip.action_type}\t{u.trip.quantity}\t"
            f"{u.trip.unit}\t{u.trip.board.isoformat()}\t{u.day.isoformat()}\t{attributes_json(u.trip)}\t{now_s}\n"
            for u in batch.unknown))

    # As a db.BulkWriter, for the ledger's and the notifications' own rows.

    def insert(self, table: str, columns, rows, same=None) -> None:
        same = same or {}
        tail = "".join("\t" + copy_value(value) for value in same.values()) + "\n"
        self.copy(table, (*columns, *same), ("\t".join(map(copy_value, row)) + tail for row in rows))

    def insert_new(self, table: str, columns, rows, unique, same=None) -> None:
        rows = list(rows)
        if not rows:
            return
        head, unnest, names, params = _insert_from_arrays(table, table, columns, rows, same or {})
        self.raw.execute(f"{head} FROM {unnest} AS v({names}) "
                         f"ON CONFLICT ({', '.join(key_columns(unique))}) DO NOTHING", params)

    def insert_or_add(self, table: str, columns, rows, key, where: str, adding, same=None) -> None:
        """One INSERT … ON CONFLICT DO UPDATE over arrays of the rows, in the rows' order."""
        rows = list(rows)
        if not rows:
            return
        head, unnest, names, params = _insert_from_arrays(f"{table} AS t", table, columns, rows, same or {})
        sets = ", ".join(f"{column} = t.{column} + excluded.{column}" for column in adding)
        self.raw.execute(f"{head} FROM {unnest} WITH ORDINALITY AS v({names}, n) ORDER BY v.n "
                         f"ON CONFLICT ({', '.join(key)}) WHERE {where} DO UPDATE SET {sets}", params)

    def add_amounts(self, table: str, amounts: dict, moves, same=None, returning: str = "id") -> dict:
        if not amounts:
            return {}
        same, ids, params = same or {}, sorted(amounts), {}  # in key order: the probes walk the index in its order
        names = list(dict.fromkeys(name for _column, name in moves))
        arrays = [_array("ids", ids, _sql_type(table, "id"), params)]
        for name in names:
            column = next(column for column, amount in moves if amount == name)
            arrays.append(_array(name, [getattr(amounts[i], name) for i in ids], _sql_type(table, column), params))
        params.update({f"s{i}": value for i, value in enumerate(same.values())})
        sets = [f"{column} = t.{column} + v.{name}" for column, name in moves]
        sets += [f"{column} = %(s{i})s" for i, column in enumerate(same)]
        rows = self.raw.execute(
            f"UPDATE {table} t SET {', '.join(sets)} FROM unnest({', '.join(arrays)}) AS v(id, {', '.join(names)}) "
            f"WHERE t.id = v.id RETURNING t.id, t.{returning}", params).fetchall()
        return dict(rows)
