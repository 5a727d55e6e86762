"""Bulk transit ingest against the physical limit of the database, in one run.

1. generates a day of trips (benchmarks/tripgen.py) and loads residents, accounts
   and bound cards set-based;
2. runs the real ``flask ingest transit`` command in a child process (wall time,
   peak RSS of that process);
3. loads the same output rows (actions, credits, ledger lots, unmatched trips)
   with raw ``psql \\copy`` into an identical indexed schema (PostgreSQL), or with
   raw ``executemany`` into an identical SQLite file (--sqlite);
4. runs the command again on the same file (every row a duplicate);
5. with --days N, ingests N - 1 more days' trips of the same riders, each after a VACUUM (what
   autovacuum does between two nightly files), and prints what each day added: from the third
   day on, the earn lots' top-ups reuse the space the VACUUM freed, which is the steady state.

    python benchmarks/ingest_transit.py --database-url postgresql://postgres@127.0.0.1/test_i3a
    python benchmarks/ingest_transit.py --sqlite --rows 200000
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchsetup import OUTPUT_TABLES, load_residents, prepare_database, raw_psql_copy, raw_sqlite_executemany  # noqa: E402
from tripgen import write_trip_file  # noqa: E402

CARD_KEY = "benchmark-card-key"


def machine_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (all cores; /proc/stat, less idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    seconds: float
    peak_mb: int
    output: str
    cpu: float  # CPU seconds of the command's own process
    machine_cpu: float  # CPU seconds of the whole machine meanwhile: the command, the database server, the rest


def run_command(database_url: str, path: str, batch_size: int) -> Run:
    """The real CLI in a child process: time, peak RSS in MB of that child, its output and CPU figures.

    The peak is the child's own high-water mark (VmHWM in /proc, polled until it
    exits). getrusage(RUSAGE_CHILDREN) would report the parent's size instead:
    Linux keeps the pre-exec maximum, and this process holds the generated data.
    """
    env = dict(os.environ, DATABASE_URL=database_url, CARD_HASH_KEY=CARD_KEY, PHONE_HASH_KEY=CARD_KEY,
               OPENID_HASH_KEY=CARD_KEY, SECRET_KEY="benchmark")
    started, busy_before = time.perf_counter(), machine_cpu_seconds()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "ingest", "transit", path,
                                  "--batch-size", str(batch_size)], env=env, stdout=out, stderr=err, text=True,
                                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        peak_kb, status = 0, None
        while status is None:
            peak_kb = max(peak_kb, _high_water_kb(child.pid))
            pid, code, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(code)
            else:
                time.sleep(0.05)
        seconds, machine_cpu = time.perf_counter() - started, machine_cpu_seconds() - busy_before
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if status != 0:
        raise SystemExit(f"ingest failed:\n{stdout}\n{stderr}")
    return Run(seconds, peak_kb // 1024, stdout, usage.ru_utime + usage.ru_stime, machine_cpu)


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def summary_value(output: str, label: str) -> int:
    for line in output.splitlines():
        if line.strip().startswith(label + ":"):
            return int(line.split(":")[1])
    raise ValueError(label)


STORAGE_TABLES = ("green_actions", "trace_forms", "ledger_entries", "notifications", "unmatched_trips")


def table_bytes(engine) -> dict:
    """{table: (heap and TOAST bytes, all bytes, [(index, bytes)] largest first)} of the ingest's tables (PostgreSQL)."""
    from sqlalchemy import text

    sizes = {}
    with engine.connect() as conn:
        conn.execute(text("CHECKPOINT"))
        for table in STORAGE_TABLES:
            heap, whole = conn.execute(text(
                "SELECT pg_table_size(c.oid), pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = :t"),
                {"t": table}).one()
            indexes = conn.execute(text(
                "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = 'public' AND t.relname = :t ORDER BY 2 DESC"), {"t": table}).all()
            sizes[table] = (heap, whole, [tuple(row) for row in indexes])
    return sizes


def print_storage(engine, rows: int, credited: int, before: dict | None = None) -> dict:
    """What the ingest left on disk, per table (heap, TOAST and indexes), per input trip and per credited trip.

    PostgreSQL only; read right after the first run, before the raw copy's schema exists. With ``before``
    (an earlier ``table_bytes``), what was added since then. Returns the sizes read.
    """
    sizes = table_bytes(engine)
    before = before or {}
    print(f"{'table':<17}{'heap MB':>9}{'index MB':>10}{'B/trip':>8}{'B/credited':>12}  indexes (B/credited)")
    total = 0
    for table, (heap, whole, indexes) in sizes.items():
        heap0, whole0, indexes0 = before.get(table, (0, 0, []))
        heap, whole = heap - heap0, whole - whole0
        earlier = dict(indexes0)
        total += whole
        each = ", ".join(f"{name} {(size - earlier.get(name, 0)) / max(credited, 1):.0f}" for name, size in indexes)
        print(f"{table:<17}{heap / 2**20:>9.1f}{(whole - heap) / 2**20:>10.1f}{whole / max(rows, 1):>8.0f}"
              f"{whole / max(credited, 1):>12.0f}  {each}")
    print(f"{'all of them':<17}{'':>9}{'':>10}{total / max(rows, 1):>8.0f}{total / max(credited, 1):>12.0f}  "
          f"({rows:,} trips read, {credited:,} credited; target ≤ 400 bytes per credited trip)")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--workdir", default=None, help="Where the trip file and SQLite files go")
    parser.add_argument("--days", type=int, default=1,
                        help="Days of trips to ingest (PostgreSQL): after the first, each further day's file (the "
                             "day before the last, same riders) follows a VACUUM and what it added is printed per "
                             "table; the third day is the steady state, where accounts already have this year's "
                             "earn lot and its top-ups reuse the space the VACUUM freed")
    parser.add_argument("--second-day", action="store_const", const=2, dest="days", help="The same as --days 2")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="ingest-bench-")
    if args.sqlite:
        args.database_url = f"sqlite:///{os.path.join(workdir, 'ingest.sqlite3')}"
    elif not args.database_url:
        raise SystemExit("--database-url (PostgreSQL) or --sqlite is required")
    now = datetime.now(timezone.utc)
    path = os.path.join(workdir, "trips.csv")

    started = time.perf_counter()
    write_trip_file(path, args.rows, args.residents, now)
    print(f"generated {args.rows:,} rows ({os.path.getsize(path) / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    engine = prepare_database(args.database_url, now - timedelta(days=30), now)
    started = time.perf_counter()
    load_residents(engine, args.residents, CARD_KEY, now)
    print(f"loaded {args.residents:,} residents with cards in {time.perf_counter() - started:.1f} s")

    first = run_command(args.database_url, path, args.batch_size)
    seconds, output = first.seconds, first.output
    print(output.rstrip())
    loaded = sum(summary_value(output, label) for label in ("credited", "capped", "unknown cards"))
    sizes = None
    if not args.sqlite:
        print()
        sizes = print_storage(engine, args.rows, summary_value(output, "credited"))
    raw_seconds, raw_rows = (raw_sqlite_executemany(engine, workdir) if args.sqlite
                             else raw_psql_copy(engine, args.database_url, workdir))
    rerun = run_command(args.database_url, path, args.batch_size)
    backend = "sqlite executemany" if args.sqlite else "psql \\copy"
    print()
    print(f"ingest (rules, ledger, balances): {args.rows / seconds:>10,.0f} rows/s  {seconds:6.1f} s for {args.rows:,} rows")
    print(f"raw {backend} of the same output: {loaded / raw_seconds:>10,.0f} trips/s  {raw_seconds:6.1f} s "
          f"({raw_rows:,} rows into {', '.join(OUTPUT_TABLES)})")
    print(f"ratio ingest / raw (same output rows): {raw_seconds / seconds:.2f}  "
          f"(time of raw ÷ time of ingest; target ≥ 0.5)")
    print(f"re-run (all duplicates): {rerun.seconds:.1f} s, credited {summary_value(rerun.output, 'credited')}, "
          f"duplicates {summary_value(rerun.output, 'duplicates')}  ({rerun.seconds / seconds:.2f}x the first run)")
    print(f"peak RSS of the ingest process: {first.peak_mb} MB (re-run {rerun.peak_mb} MB)")
    cores = os.cpu_count() or 1
    print(f"CPU during the ingest: the command {first.cpu:.1f} s, the whole machine {first.machine_cpu:.1f} s "
          f"(the database server and the rest: {first.machine_cpu - first.cpu:.1f} s) of {cores} cores × "
          f"{seconds:.1f} s = {cores * seconds:.1f} s")
    if sizes is not None:
        for number in range(2, args.days + 1):
            further_day(engine, args, workdir, now - timedelta(days=number - 1), number)


def vacuum(engine) -> float:
    """VACUUM (ANALYZE) the ingest's tables, as autovacuum would between two nightly files; its seconds."""
    from sqlalchemy import text

    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in STORAGE_TABLES + ("accounts",):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    return time.perf_counter() - started


def further_day(engine, args, workdir: str, day: datetime, number: int) -> None:
    """Another day's file of the same riders, after a VACUUM: its time and what it added per table."""
    path = os.path.join(workdir, f"trips-day-{number}.csv")
    write_trip_file(path, args.rows, args.residents, day)
    vacuumed = vacuum(engine)
    before = table_bytes(engine)
    run = run_command(args.database_url, path, args.batch_size)
    print()
    print(f"day {number}'s file ({day:%Y-%m-%d}), after a VACUUM of {vacuumed:.1f} s: {args.rows:,} rows in "
          f"{run.seconds:.1f} s ({args.rows / run.seconds:,.0f} rows/s); what it added:")
    print_storage(engine, args.rows, summary_value(run.output, "credited"), before=before)

if __name__ == "__main__":
    main()
