"""The job registry and the APScheduler wiring (``flask scheduler run``).

A job is ``func(app, now)``; it runs inside an application context, may commit
in batches, and whatever it leaves in ``db.session`` is committed after it
returns. Each application has its own registry, ``app.extensions["carbon_jobs"]``
(a ``JobRegistry``, made by ``create_app``); the host and each face add their jobs
to it when they are registered, e.g. the bot::

    app.extensions["carbon_jobs"].add("deliver_outbox", deliver_outbox_job, "interval", minutes=1)

Nothing registers a job by being imported, and the scheduler imports no face.

Every run goes through ``run_job``: it takes the job's database lock
(carbon_credit.jobs.locks) so the same job never runs twice at once, even with
several scheduler processes; a process that finds the lock taken skips the run,
logs it and records a ``skipped`` run. A run the scheduler starts is also claimed
for its due time first (one ``job_runs`` row per job and due time), so when
several app instances each run a scheduler on one database, every due time runs
once, on whichever instance claims it first; the others skip it without a record.
Interval jobs fire on one fixed grid (``INTERVAL_ANCHOR``), the same in every
process. Every job must be idempotent, because a crash can always cut a run
short and the next one redoes it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Optional

from sqlalchemy import delete, insert, inspect, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from carbon_credit.jobs.locks import DEFAULT_LEASE, job_lock, new_holder
from carbon_credit.models import JobRun
from carbon_credit.timeutil import TZ, utcnow

log = logging.getLogger(__name__)

JOBS_EXTENSION = "carbon_jobs"  # where an application keeps its JobRegistry
TRIGGERS = ("interval", "cron")
JOBSTORE_TABLE = "apscheduler_jobs"
# One missed run is made up once (coalesce), within the grace period, never in parallel.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60}
# Interval jobs count from here, so every process computes the same due times (e.g. every 5 minutes on the 5s).
INTERVAL_ANCHOR = datetime(2024, 1, 1, tzinfo=TZ)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable  # func(app, now) -> dict | None
    trigger: str
    trigger_args: dict = field(default_factory=dict)
    description: str = ""
    lease: timedelta = DEFAULT_LEASE  # SQLite lease length: longer than the job ever runs


@dataclass
class RunOutcome:
    name: str
    status: str  # ok | failed | skipped
    result: dict = field(default_factory=dict)
    error: str = ""
    run_id: Optional[int] = None
    reported: bool = False  # failed by an error the job returned, not by raising


class UnknownJob(KeyError):
    pass


class JobRegistry(dict):
    """One application's jobs by name; the scheduler and ``flask scheduler`` read it."""

    def add(self, name: str, func: Callable, trigger: str = "interval", *, description: str = "",
            lease: timedelta = DEFAULT_LEASE, **trigger_args) -> JobSpec:
        """Add (or replace) a job; ``trigger_args`` go to APScheduler's interval or cron trigger."""
        if trigger not in TRIGGERS:
            raise ValueError(f"trigger must be one of {TRIGGERS}, not {trigger!r}")
        if not trigger_args:
            raise ValueError(f"job {name!r} needs trigger arguments, e.g. minutes=5 or hour=0")
        spec = JobSpec(name=name, func=func, trigger=trigger, trigger_args=dict(trigger_args),
                       description=description or (func.__doc__ or "").strip().split("\n")[0], lease=lease)
        self[name] = spec
        return spec

    def get_job(self, name: str) -> JobSpec:
        try:
            return self[name]
        except KeyError:
            raise UnknownJob(name) from None


def jobs_of(app) -> JobRegistry:
    """The application's job registry."""
    return app.extensions[JOBS_EXTENSION]


def run_job(app, name: str, now: Optional[datetime] = None, *, due: Optional[datetime] = None) -> RunOutcome:
    """Run one job once under its lock; returns what happened (ok, failed or skipped).

    ``due`` is the time the scheduler fired it for: the run is claimed for that due time
    first, and a due time another process claimed already is skipped without a record.
    Runs by hand (``due`` None) always run, under the lock.
    """
    from .extensions import db

    spec = jobs_of(app).get_job(name)
    holder = new_holder()
    with app.app_context():
        engine = db.engine
        run_id = _claim_run(engine, name, holder, due)
        if run_id is None:
            log.info("job %s due %s skipped: another process ran it", name, due.isoformat())
            return RunOutcome(name, "skipped", error="another process ran it for this due time")
        with job_lock(engine, name, holder=holder, lease=spec.lease) as acquired:
            if not acquired:
                log.info("job %s skipped: another process holds its lock", name)
                _record_end(engine, run_id, "skipped", {}, "another process holds the job lock")
                return RunOutcome(name, "skipped", run_id=run_id)
            return _run_locked(app, db, spec, run_id, now)


def _run_locked(app, db, spec: JobSpec, run_id: int, now: Optional[datetime]) -> RunOutcome:
    engine = db.engine
    try:
        result = spec.func(app, now or utcnow()) or {}
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never lost
        db.session.rollback()
        log.exception("job %s failed", spec.name)
        error = f"{type(exc).__name__}: {exc}"[:500]
        _record_end(engine, run_id, "failed", {}, error)
        return RunOutcome(spec.name, "failed", error=error, run_id=run_id)
    finally:
        db.session.remove()
    result = {k: _jsonable(v) for k, v in dict(result).items()}
    error = reported_error(result)
    if error:  # the job ran to its end but could not do its work (e.g. WeChat is not configured)
        _record_end(engine, run_id, "failed", result, error)
        log.warning("job %s reported an error: %s", spec.name, error)
        return RunOutcome(spec.name, "failed", result=result, error=error, run_id=run_id, reported=True)
    _record_end(engine, run_id, "ok", result, "")
    log.info("job %s done: %s", spec.name, result)
    return RunOutcome(spec.name, "ok", result=result, run_id=run_id)


def reported_error(result: dict) -> str:
    """The error a job put in its result (a non-empty text under "error"), or ''."""
    error = result.get("error")
    return error[:500] if isinstance(error, str) and error.strip() else ""


def _jsonable(value):
    return value if isinstance(value, (int, float, str, bool, type(None), list, dict)) else str(value)


def _claim_run(engine, name: str, holder: str, due: Optional[datetime]) -> Optional[int]:
    """The new run's record, or None when a run for this due time exists already (the unique key decides)."""
    try:
        with engine.begin() as conn:
            return conn.execute(insert(JobRun.__table__).values(
                name=name, status="running", holder=holder, due_at=due, started_at=utcnow(), result={}, error="")
                .returning(JobRun.__table__.c.id)).scalar_one()
    except IntegrityError:
        if due is None:
            raise
        return None


def _record_end(engine, run_id: int, status: str, result: dict, error: str) -> None:
    table = JobRun.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == run_id)
                     .values(status=status, result=result, error=error, finished_at=utcnow()))


# --- APScheduler -------------------------------------------------------------------------------

_APP = None  # the application the scheduler's jobs run in (one per process)


def scheduled_run(name: str) -> None:
    """What the job store references (a module-level function, so stored jobs stay loadable)."""
    if _APP is None:
        raise RuntimeError("the scheduler's application is not set; start it with build_scheduler(app)")
    spec = jobs_of(_APP).get_job(name)
    outcome = run_job(_APP, name, due=due_time(spec, utcnow()))
    if outcome.status == "failed" and not outcome.reported:  # a reported error is logged once, as a warning
        raise RuntimeError(f"job {name} failed: {outcome.error}")


def make_trigger(spec: JobSpec):
    """The APScheduler trigger of a job, the same in every process (interval jobs on INTERVAL_ANCHOR's grid)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if spec.trigger == "cron":
        return CronTrigger(timezone=TZ, **spec.trigger_args)
    return IntervalTrigger(timezone=TZ, start_date=INTERVAL_ANCHOR, **spec.trigger_args)


# How far back the latest fire time of a cron job is looked for, widening until one is found.
_LOOKBACKS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367))


def due_time(spec: JobSpec, now: datetime) -> Optional[datetime]:
    """The latest time at or before ``now`` the job's trigger fires: the due time a scheduled run is for.

    The scheduler calls a job at its fire time or a little after (a busy executor, a misfire
    made up within the grace time), so this finds the fire time it was called for.
    """
    trigger = make_trigger(spec)
    if spec.trigger == "interval":
        steps = (now - INTERVAL_ANCHOR) // trigger.interval
        return (INTERVAL_ANCHOR + steps * trigger.interval).astimezone(TZ) if steps >= 0 else None
    for lookback in _LOOKBACKS:
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            break
    else:
        return None
    while True:
        following = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if following is None or following > now:
            return fire
        fire = following


def build_scheduler(app, scheduler_cls=None):
    """A scheduler (BlockingScheduler by default) with every registered job, stored in the app's database."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    from .extensions import db

    global _APP
    _APP = app
    specs = jobs_of(app)
    with app.app_context():
        engine = db.engine
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    _create_jobstore_table(engine, store)
    _drop_stale_jobs(engine, set(specs))
    scheduler = (scheduler_cls or BlockingScheduler)(jobstores={"default": store}, job_defaults=JOB_DEFAULTS,
                                                     timezone=TZ)
    for spec in specs.values():
        scheduler.add_job("api.scheduler:scheduled_run", make_trigger(spec), args=[spec.name], id=spec.name,
                          name=spec.description or spec.name, replace_existing=True)
    return scheduler


def _create_jobstore_table(engine, store) -> None:
    """The job store's table, which instances starting at the same moment may both try to create."""
    try:
        store.jobs_t.create(engine, checkfirst=True)
    except DBAPIError:
        if not inspect(engine).has_table(JOBSTORE_TABLE):
            raise


def _drop_stale_jobs(engine, names: set[str]) -> None:
    """Jobs stored by an older version whose name is no longer registered would fail to run."""
    if not inspect(engine).has_table(JOBSTORE_TABLE):
        return
    from sqlalchemy import Column, MetaData, String, Table

    table = Table(JOBSTORE_TABLE, MetaData(), Column("id", String(191), primary_key=True))
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.id.not_in(sorted(names))))


def start_background_scheduler(app):
    """The same jobs and locks on a BackgroundScheduler, for running beside the web app (the demo)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start()
    return scheduler


__all__ = [
    "INTERVAL_ANCHOR", "JOBS_EXTENSION", "JobRegistry", "JobSpec", "RunOutcome", "UnknownJob", "build_scheduler",
    "due_time", "jobs_of", "make_trigger", "run_job", "scheduled_run", "start_background_scheduler",
]
