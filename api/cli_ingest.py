"""``flask ingest …``: bulk files from partners (the transit operator's nightly trips)."""
from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup

from carbon_credit.errors import DomainError
from carbon_credit.ingest import DEFAULT_BATCH, IngestOptions, ingest_transit_file
from carbon_credit.ingest.readers import READERS
from carbon_credit.timeutil import utcnow

from .extensions import db

ingest_cli = AppGroup("ingest", help="Load partner files (streamed, idempotent, resumable).")

SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits for it, during a run
COLLECT_EVERY = 50  # progress reports (one per batch; one per 50,000 rows while splitting) between collections


@contextmanager
def tuned_for_a_bulk_run():
    """Interpreter settings for the command's own process during the run, put back after it.

    Both are process-wide, so only the command sets them, never the ingest itself: a
    process serving requests or running two ingests at once keeps Python's own settings.

    - A shorter GIL switch interval (Python's default is 5 ms). The reading thread parses
      the next batch while the main thread sends one short statement after another to the
      database; each time a statement returns, the main thread would otherwise wait up to
      5 ms for the parser to hand the GIL back, while the database has nothing to do.
    - The cyclic garbage collector paused; the returned callable runs a full collection
      every ``COLLECT_EVERY`` calls. A batch makes some hundred thousand objects that stay
      alive until it is written, so automatic collections kept re-examining live objects
      (a fifth of the run's Python time), while a batch leaves only about ten objects in
      reference cycles (measured) and a full collection takes ~0.15 s.
    """
    interval, enabled = sys.getswitchinterval(), gc.isenabled()
    reports = 0

    def after_report() -> None:
        nonlocal reports
        reports += 1
        if reports % COLLECT_EVERY == 0:
            gc.collect()

    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.disable()
    try:
        yield after_report
    finally:
        sys.setswitchinterval(interval)
        if enabled:
            gc.enable()


class _Progress:
    """A progress bar over the file's bytes, only when stdout is a terminal."""

    def __init__(self, path: str, after_report):
        self.after_report = after_report
        self.bar = None
        if sys.stdout.isatty():
            self.bar = click.progressbar(length=os.path.getsize(path), label="ingesting", show_pos=False)
            self.bar.__enter__()
        self.seen = 0

    def __call__(self, bytes_read: int, summary) -> None:
        if self.bar is not None:
            self.bar.update(bytes_read - self.seen)
            self.seen = bytes_read
        self.after_report()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def run_transit_ingest(path: str, options: IngestOptions):
    """The command's body."""
    with tuned_for_a_bulk_run() as after_report:
        progress = _Progress(path, after_report)
        try:
            return ingest_transit_file(db.session, path, utcnow(), key=current_app.config["CARD_HASH_KEY"],
                                       options=options, progress=progress)
        finally:
            progress.close()


@ingest_cli.command("transit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(sorted(READERS)), default=None,
              help="csv or jsonl (default: from the file's extension).")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Rows per committed batch at most (a batch also ends with its card partition).")
@click.option("--reject-file", type=click.Path(dir_okay=False), default=None,
              help="Where bad rows are listed (default: FILE.rejects.csv).")
@click.option("--source", default="transit", show_default=True,
              help="The partner's idempotency scope: trip ids are unique within it.")
@click.option("--work-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Where the file is split by card first (about its size; default: the system's temp).")
@click.option("--statement-timeout", type=click.FloatRange(min=0), default=None,
              help="Seconds one database statement of a batch may take before the batch fails and is rolled "
                   "back (PostgreSQL; 0: no limit; default: INGEST_STATEMENT_TIMEOUT, 300).")
def ingest_transit(file, fmt, batch_size, reject_file, source, work_dir, statement_timeout):
    """Credit the trips of FILE (trip_id, card_no, mode, board_time, alight_time, distance_km).

    Running it again on the same file credits nothing; a run that was killed
    resumes after its last committed batch.
    """
    if statement_timeout is None:
        statement_timeout = current_app.config["INGEST_STATEMENT_TIMEOUT"]
    options = IngestOptions(source=source, fmt=fmt, batch_size=batch_size, reject_file=reject_file, work_dir=work_dir,
                            statement_timeout=statement_timeout or None)
    try:
        summary = run_transit_ingest(file, options)
    except (DomainError, ValueError) as exc:
        raise click.ClickException(getattr(exc, "message", None) or str(exc)) from None
    if summary.resumed_from:
        click.echo(f"resumed after row {summary.resumed_from}")
    for label, value in summary.labelled():  # one line per counter of carbon_credit.ingest.IngestCounts
        click.echo(f"{label:>20}: {value}")
    click.echo(f"{'reject file':>20}: {summary.reject_file}")
