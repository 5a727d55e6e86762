"""The batch's writes on SQLite: executemany in the batch's one transaction, which holds the write lock."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from carbon_credit.db import key_columns
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

_PLAIN = (int, str, float, type(None))


def sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores a datetime in SQLite (naive UTC, microseconds)."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_value(value):
    """A plain value as SQLAlchemy would store it in SQLite."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


class SQLiteWriter(BaseWriter):
    """SQLite has one writer at a time: the batch transaction already excludes other runs."""

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
        return {h: Owner(rid, aid, bool(reachable)) for h, rid, aid, reachable in rows}

    def lock_accounts(self, account_ids: list) -> None:
        return None  # the database-wide write lock is held

    def usage_rows(self, resident_ids: list, day_from, day_to) -> list:
        times = usage_window_times(day_from, day_to)
        rows = self._in("SELECT g.resident_id, g.local_day, g.action_type, g.cap_tag, count(*), "
                        "coalesce(sum(g.quantity), 0), coalesce(sum(g.grams), 0), coalesce(sum(g.points), 0) "
                        "FROM green_actions g "
                        "WHERE g.occurred_at >= ? AND g.occurred_at < ? AND g.local_day >= ? AND g.local_day < ? "
                        "AND g.status = 'credited' AND g.resident_id IN (IN) "
                        "GROUP BY g.resident_id, g.local_day, g.action_type, g.cap_tag",
                        resident_ids, (sqlite_time(times["since"]), sqlite_time(times["until"]),
                                       day_from.isoformat(), day_to.isoformat()))
        return [CommittedUsage(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], Decimal(str(r[5])), r[6], r[7])
                for r in rows]

    def allocate(self, counts: dict) -> dict:
        ids = {}
        for table, n in counts.items():
            start = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            ids[table] = list(range(start + 1, start + 1 + n))
        return ids

    def _upsert_forms(self, forms: dict, now) -> list:
        self.raw.executemany("INSERT OR IGNORE INTO trace_forms (digest, body, created_at) VALUES (?, ?, ?)",
                             [(digest, form.body_json, sqlite_time(now)) for digest, form in sorted(forms.items())])
        return self._in("SELECT digest, id FROM trace_forms WHERE digest IN (IN)", list(forms))

    def write_batch(self, batch) -> None:
        """The trips credited in time order, their new trace forms, then actions with credits and unmatched trips."""
        now_s, scope = sqlite_time(batch.now), batch.source
        credit = batch.credit
        for m in batch.matched:
            credit(m)
        self.store_forms(batch)
        self._insert("green_actions", ACTION_COLS, [
            (m.action_id, m.resident_id, m.trip.action_type, str(m.trip.quantity), m.trip.unit,
             sqlite_time(m.trip.board), ACTION_SOURCE, ACTION_EVIDENCE, scope, m.trip.trip_id, attributes_json(m.trip),
             m.credited.status, "", now_s, m.day.isoformat(), m.trip.rule_set.id, m.trip.rule_set.version,
             m.credited.cap_tag, m.credited.grams, m.credited.points, m.credited.trace_json,
             m.credited.form and m.credited.form.form_id, now_s) for m in batch.matched])
        self._insert("unmatched_trips", UNMATCHED_COLS, [
            (scope, u.trip.trip_id, u.card_hash, u.trip.action_type, str(u.trip.quantity), u.trip.unit,
             sqlite_time(u.trip.board), u.day.isoformat(), attributes_json(u.trip), now_s) for u in batch.unknown])

    def _insert(self, table: str, cols: tuple, rows, tail: str = "") -> None:
        marks = ",".join("?" * len(cols))
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}){tail}", rows)

    def finish_run(self) -> None:
        """Back to SQLite's defaults, with the run's WAL copied into the database file."""
        for name, value in self.DEFAULT_PRAGMAS:
            self.raw.execute(f"PRAGMA {name} = {value}")
        self.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # As a db.BulkWriter, for the ledger's and the notifications' own rows.

    def insert(self, table: str, columns, rows, same=None) -> None:
        self._insert_values(table, columns, rows, same or {})

    def insert_new(self, table: str, columns, rows, unique, same=None) -> None:
        self._insert_values(table, columns, rows, same or {},
                            tail=f" ON CONFLICT ({', '.join(key_columns(unique))}) DO NOTHING")

    def insert_or_add(self, table: str, columns, rows, key, where: str, adding, same=None) -> None:
        sets = ", ".join(f"{column} = {column} + excluded.{column}" for column in adding)
        self._insert_values(table, columns, rows, same or {},
                            tail=f" ON CONFLICT ({', '.join(key)}) WHERE {where} DO UPDATE SET {sets}")

    def _insert_values(self, table: str, columns, rows, same: dict, tail: str = "") -> None:
        constants = tuple(sqlite_value(value) for value in same.values())
        self._insert(table, (*columns, *same), (tuple(map(sqlite_value, row)) + constants for row in rows),
                     tail=tail)

    def add_amounts(self, table: str, amounts: dict, moves, same=None, returning: str = "id") -> dict:
        if not amounts:
            return {}
        same = same or {}
        sets = [f"{column} = {column} + ?" for column, _name in moves] + [f"{column} = ?" for column in same]
        constants = tuple(sqlite_value(value) for value in same.values())
        self.raw.executemany(f"UPDATE {table} SET {', '.join(sets)} WHERE id = ?", [
            (*(getattr(amount, name) for _column, name in moves), *constants, row_id)
            for row_id, amount in amounts.items()])
        return dict(self._in(f"SELECT id, {returning} FROM {table} WHERE id IN (IN)", list(amounts)))
