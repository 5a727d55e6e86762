"""Running a whole transit file: batches, checkpoints, the reject file and the summary.

Unlike the request services, a run owns its transactions: each batch commits
on its own together with its checkpoint row (``ingest_runs``), so a run killed
at any point resumes after the last committed batch, and nothing is credited
twice because every trip id is checked against what is stored first.
"""
from __future__ import annotations

import csv
import fcntl
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from carbon_credit.residents.cards import card_hash
from carbon_credit.errors import Conflict, DomainError, InvalidInput
from carbon_credit.models import ActionType, RuleSet
from carbon_credit.models.cards import IngestRun
from carbon_credit.pipeline import CreditPipeline
from carbon_credit.rules import compile_rule_set
from carbon_credit.ingest.batch import BitSet, QueuedDigests, process_batch
from carbon_credit.ingest.counts import IngestCounts
from carbon_credit.ingest.partition import FIELDS, partition_count, read_partitions, split
from carbon_credit.ingest.readers import (
    READERS,
    ByteCounter,
    ParseProblem,
    check_columns,
    file_identity,
    format_for,
)
from carbon_credit.ingest.trips import (
    MODES,
    REQUIRED,
    Rejected,
    RuleSets,
    Trip,
    attributes_json,
    check_against_rules,
    parse_trip,
)
from carbon_credit.ingest.writers import run_lock, writer_for

log = logging.getLogger(__name__)

DEFAULT_BATCH = 20_000
DEFAULT_STATEMENT_TIMEOUT = 300.0  # seconds one statement of a batch may take (a lock wait, a stuck COPY)
SCRATCH_PREFIX = "carbon-ingest-run-"  # a run's partitions are split into <temp>/carbon-ingest-run-<id>-<unique>


@dataclass
class IngestSummary(IngestCounts):
    """A run's counters (all its passes' batches, resumed ones included) and where to find it."""

    run_id: int = 0
    resumed_from: int = 0  # rows an earlier pass had committed when this one started
    reject_file: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class RejectedRow:
    line_no: int
    trip_id: str
    reason: str


@dataclass(slots=True)
class ParsedBatch:
    """One batch as the reading thread hands it over: its rows counted, its trips checked and in time order."""

    taken: int  # rows of the file the batch covers
    trips: list = field(default_factory=list)  # Trip
    rejects: list = field(default_factory=list)  # RejectedRow


@dataclass
class IngestOptions:
    source: str = "transit"
    fmt: Optional[str] = None
    batch_size: int = DEFAULT_BATCH
    reject_file: Optional[str] = None
    work_dir: Optional[str] = None  # where the file's partitions are written (default: the system's temp)
    fail_after_batches: Optional[int] = None  # for tests of resuming: raise after N committed batches
    statement_timeout: Optional[float] = DEFAULT_STATEMENT_TIMEOUT  # seconds, PostgreSQL; None: no limit
    pipeline: Optional[CreditPipeline] = None  # the credit pipeline (default: pipeline.credit_pipeline())


class StopAfterBatches(RuntimeError):
    """Raised by ``fail_after_batches``: a run that stops part-way, as a crash would."""


class BatchTimedOut(DomainError):
    code = "ingest_batch_timeout"
    status = 503
    message = "A batch of the ingest took longer than its statement timeout."


def _timed_out(exc: BaseException) -> bool:
    """PostgreSQL cancelled a statement for its statement_timeout (SQLSTATE 57014), raw or wrapped."""
    return "57014" in (getattr(exc, "sqlstate", None), getattr(getattr(exc, "orig", None), "sqlstate", None))


def _insert_ignore(session, values: dict):
    table = IngestRun.__table__
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    session.execute(insert.on_conflict_do_nothing(index_elements=["source", "content_hash"]))


def open_run(session, path: str, source: str, now: datetime, batch_size: int = DEFAULT_BATCH) -> IngestRun:
    """The checkpoint row of this file: resumed if unfinished, a new pass if it was finished.

    A resumed run keeps its partition count, so it sees the rows in the same order.
    """
    digest, lines = file_identity(path)
    partitions = partition_count(lines, batch_size)
    _insert_ignore(session, dict(source=source, content_hash=digest, file_name=os.path.basename(path)[:256],
                                 status="running", passes=1, rows_done=0, partitions=partitions, started_at=now,
                                 updated_at=now, **IngestCounts().values()))
    run = session.execute(select(IngestRun).where(IngestRun.source == source, IngestRun.content_hash == digest)
                          .with_for_update()).scalar_one()
    if run.status == "done":
        run.status, run.passes, run.rows_done, run.started_at, run.finished_at = "running", run.passes + 1, 0, now, None
        run.partitions = partitions
        for name, value in IngestCounts().values().items():
            setattr(run, name, value)
    run.updated_at = now
    session.commit()
    return run


def _rule_sets(session) -> tuple[RuleSets, set]:
    versions = session.execute(select(RuleSet).where(RuleSet.status == "activated")).scalars().all()
    active = set(session.execute(select(ActionType.code).where(ActionType.active.is_(True),
                                                               ActionType.code.in_(list(MODES.values())))).scalars())
    return RuleSets([compile_rule_set(v) for v in versions]), active


class RejectFile:
    """CSV of line, trip_id, reason; on resume, only the rows of lines already committed are kept."""

    def __init__(self, path: str, keep: Optional[BitSet]):
        kept = []
        if keep is not None and os.path.exists(path):
            with open(path, newline="", encoding="utf-8") as old:
                kept = [row for row in list(csv.reader(old))[1:] if row and int(row[0]) in keep]
        self.handle = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(["line", "trip_id", "reason"])
        self.writer.writerows(kept)

    def add(self, line_no: int, trip_id: str, reason: str) -> None:
        self.writer.writerow([line_no, trip_id[:128], reason])

    def flush(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def ingest_transit_file(session, path: str, now: datetime, *, key, options: IngestOptions = IngestOptions(),
                        progress: Optional[Callable] = None) -> IngestSummary:
    """Ingest a transit file batch by batch; ``progress(bytes_read, summary)`` after each batch."""
    if options.batch_size < 1:
        raise InvalidInput("The batch size must be at least 1.", errors={"batch_size": ["must be ≥ 1"]})
    fmt = format_for(path, options.fmt)
    reader = READERS[fmt]
    check_columns(path, fmt, REQUIRED, tuple(name for name in FIELDS if name not in REQUIRED))
    run = open_run(session, path, options.source, now, options.batch_size)
    run_id = run.id
    with run_lock(session.get_bind(), run_id) as held:
        if not held:
            raise Conflict("Another run of this file is in progress.", code="ingest_in_progress")
        try:
            return _run(session, run, reader, path, now, key, options, progress)
        except BaseException as exc:
            session.rollback()
            if _timed_out(exc):
                raise BatchTimedOut(
                    f"A batch waited longer than the statement timeout ({options.statement_timeout:g} s) and was "
                    f"rolled back; nothing of it was stored. Committed batches stay; run the same file again "
                    f"to resume after row {_rows_done(session, run_id)}.") from exc
            raise


@contextmanager
def scratch_dir(parent: Optional[str], run_id: int):
    """A directory of the run's own for its partitions, locked (``flock``) while the run uses it.

    Run ids are counted per database, so runs of two databases on one machine
    (a test suite beside a benchmark, two installs) can have the same id: the
    id only begins the directory's name, which is unique. A run killed outright
    (SIGKILL, power loss) cannot remove its files, but its lock dies with it:
    the next run of that id (the resumed run) clears every directory of the id
    that nobody holds. The directory is locked before it takes its final name,
    so no run ever sees another's directory unlocked.
    """
    base = parent or tempfile.gettempdir()
    prefix = f"{SCRATCH_PREFIX}{run_id}-"
    _clear_abandoned(base, prefix)
    making = tempfile.mkdtemp(prefix=f".{prefix}", dir=base)
    with open(os.path.join(making, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = os.path.join(base, os.path.basename(making)[1:])
        os.rename(making, path)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _clear_abandoned(base: str, prefix: str) -> None:
    """Remove the scratch directories of this run id whose run is gone (their lock is free)."""
    for name in os.listdir(base):
        if not name.startswith(prefix):
            continue
        home = os.path.join(base, name)
        try:
            with open(os.path.join(home, ".lock")) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(home, ignore_errors=True)
        except (BlockingIOError, FileNotFoundError, NotADirectoryError):
            continue  # a live run's, or not a scratch directory


def _run(session, run, reader, path, now, key, options, progress) -> IngestSummary:
    summary = IngestSummary(run_id=run.id, resumed_from=run.rows_done, **IngestCounts.of(run).values())
    summary.reject_file = options.reject_file or f"{path}.rejects.csv"
    rule_sets, active_types = _rule_sets(session)
    session.commit()  # no transaction stays open while the file is split
    memo, queued, committed, done = {}, QueuedDigests(), 0, run.rows_done
    size = max(1, os.path.getsize(path))
    log.info("ingest run %s started on %s (%s bytes, source %s), after row %s", run.id, os.path.basename(path), size,
             options.source, run.rows_done)
    with scratch_dir(options.work_dir, run.id) as scratch, ThreadPoolExecutor(max_workers=1) as pool:
        # First pass: the file split by card (half of the progress bar).
        with open(path, "rb") as handle:
            counter = ByteCounter(handle)
            report = None if progress is None else (lambda: progress(counter.bytes_read // 2, summary))
            paths, total = split(reader(counter.lines()), run.partitions, scratch, report)
        records = read_partitions(paths)
        committed_lines = BitSet()
        for _ in range(run.rows_done):
            row = next(records, None)
            committed_lines.add(row.line_no if row is not None else 0)
        rejects = RejectFile(summary.reject_file, committed_lines if run.rows_done else None)
        batches = _batches(records, options.batch_size, now, rule_sets, active_types, key)
        try:
            # Parsing the next batch overlaps with the database work of this one.
            upcoming = pool.submit(next, batches, None)
            while (parsed := upcoming.result()) is not None:
                upcoming = pool.submit(next, batches, None)
                for row in parsed.rejects:
                    rejects.add(row.line_no, row.trip_id, row.reason)
                counts = IngestCounts(rows_read=parsed.taken, rejected=len(parsed.rejects))
                if parsed.trips:
                    counts.add(process_batch(session, writer_for(session, options.statement_timeout), parsed.trips,
                                             source=options.source, key=key, now=now, memo=memo, queued=queued,
                                             pipeline=options.pipeline))
                done += parsed.taken
                summary.add(counts)
                rejects.flush()
                _checkpoint(session, run, done, summary, now)
                session.commit()
                committed += 1
                if progress is not None:
                    progress(size // 2 + size * done // (2 * max(1, total)), summary)
                log.info("ingest run %s batch %s committed: %s", run.id, committed, counts)
                if options.fail_after_batches is not None and committed >= options.fail_after_batches:
                    raise StopAfterBatches(f"stopped after {committed} batches")
            _checkpoint(session, run, done, summary, now, finished=True)
            session.commit()
            writer_for(session).finish_run()
            session.commit()
        finally:
            rejects.close()
    log.info("ingest run %s done%s: %s", summary.run_id,
             f" (resumed after row {summary.resumed_from})" if summary.resumed_from else "", IngestCounts.of(summary))
    return summary


def _prepare(trips: list[Trip], key) -> list[Trip]:
    """What needs no database, done in the reading thread: card hashes, the actions' attributes, time order."""
    hashes: dict = {}
    for trip in trips:
        digest = hashes.get(trip.card_no)
        if digest is None:
            digest = hashes[trip.card_no] = card_hash(trip.card_no, key)
        trip.card_hash = digest
        trip.attributes_json = attributes_json(trip)
    trips.sort(key=lambda t: (t.board, t.line_no))
    return trips


def _batches(records, size: int, now, rule_sets, active_types, key):
    """A ``ParsedBatch`` at a time.

    ``records`` are ``PartitionRow``s, grouped by card within a partition: a
    batch ends where a partition ends, or at the end of a card's rows once it
    has ``size`` rows. A batch never splits a card, so a card's trips are
    credited together in time order, with any batch size (one card's rows may
    make a batch longer than ``size``), and a resumed run starts at a card's
    first row.
    """
    pending = next(records, None)
    while pending is not None:
        batch, card = ParsedBatch(0), None
        partition = pending.partition
        while pending is not None and pending.partition == partition and (
                batch.taken < size or (card is not None and pending.card == card)):
            record, card = pending.record, pending.card
            batch.taken += 1
            trip_id = "" if isinstance(record, ParseProblem) else (record.get("trip_id") or "").strip()
            try:
                if isinstance(record, ParseProblem):
                    raise Rejected(record.reason)
                batch.trips.append(check_against_rules(parse_trip(pending.line_no, record, now), rule_sets,
                                                       active_types))
            except Rejected as exc:
                batch.rejects.append(RejectedRow(pending.line_no, trip_id, exc.reason))
            pending = next(records, None)
        _prepare(batch.trips, key)
        yield batch


def _rows_done(session, run_id: int) -> int:
    session.rollback()
    return session.execute(select(IngestRun.rows_done).where(IngestRun.id == run_id)).scalar_one()


def _checkpoint(session, run: IngestRun, done: int, summary: IngestSummary, now: datetime, finished=False):
    values = IngestCounts.of(summary).values()
    values.update(rows_done=done, updated_at=now)
    if finished:
        values.update(status="done", finished_at=now)
    session.execute(IngestRun.__table__.update().where(IngestRun.__table__.c.id == run.id).values(**values))
