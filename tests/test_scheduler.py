"""The scheduler: one runner per job across processes, run records, the CLI, the job store."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

from api.scheduler import INTERVAL_ANCHOR, JOBSTORE_TABLE, build_scheduler, due_time, jobs_of, run_job
from carbon_credit.jobs.locks import new_holder, take_lease
from carbon_credit.models import JobRun, LedgerEntry, Notification
from carbon_credit.timeutil import TZ

from .factories import make_resident
from .reward_support import give_points
from .test_expiry import EARNED, EXPIRES


@pytest.fixture
def slow_job(app):
    """A job that holds its lock until the test lets it finish."""
    started, release, calls = threading.Event(), threading.Event(), []

    def hold(app, now):
        calls.append(now)
        started.set()
        assert release.wait(30)
        return {"held": True}

    jobs_of(app).add("test_hold", hold, "interval", minutes=1)
    yield started, release, calls
    release.set()


def test_two_concurrent_runs_of_one_job_run_it_once(app, engine, slow_job):
    started, release, calls = slow_job
    outcomes = {}
    first = threading.Thread(target=lambda: outcomes.setdefault("first", run_job(app, "test_hold")))
    first.start()
    assert started.wait(10)

    second = run_job(app, "test_hold")  # another process would find the same database lock taken
    release.set()
    first.join(10)

    assert (outcomes["first"].status, second.status) == ("ok", "skipped")
    assert len(calls) == 1
    with engine.connect() as conn:
        runs = conn.execute(select(JobRun.name, JobRun.status).order_by(JobRun.id)).all()
    assert sorted(runs) == [("test_hold", "ok"), ("test_hold", "skipped")]
    assert run_job(app, "test_hold").status == "ok"  # the lock was released after the first run
    assert len(calls) == 2


def test_a_failing_job_is_recorded_and_releases_its_lock(app, engine):
    def boom(app, now):
        raise RuntimeError("partner file missing")

    jobs_of(app).add("test_boom", boom, "interval", minutes=1)
    first, second = run_job(app, "test_boom"), run_job(app, "test_boom")
    assert (first.status, second.status) == ("failed", "failed")  # not "skipped": the lock was released
    assert "partner file missing" in first.error
    with engine.connect() as conn:
        assert conn.execute(select(JobRun.status).where(JobRun.id == first.run_id)).scalar_one() == "failed"


def test_a_job_that_reports_an_error_is_failed_in_the_record_and_the_cli(app, engine, runner):
    jobs_of(app).add("test_reports", lambda app, now: {"sent": 0, "error": "partner file missing"}, "interval",
                     minutes=1)
    outcome = run_job(app, "test_reports")
    cli = runner.invoke(args=["scheduler", "run-job", "test_reports"])
    assert (outcome.status, outcome.error, outcome.result["sent"]) == ("failed", "partner file missing", 0)
    assert cli.exit_code == 1 and "test_reports failed: partner file missing {'sent': 0}" in cli.output
    assert ": ok" not in cli.output
    with engine.connect() as conn:
        assert conn.execute(select(JobRun.status, JobRun.error).where(JobRun.id == outcome.run_id)).one() == (
            "failed", "partner file missing")


def test_the_outbox_job_without_wechat_credentials_fails_with_the_reason(app, runner):
    app.config["WECHAT_SECRET"] = ""
    result = runner.invoke(args=["scheduler", "run-job", "deliver_outbox"])
    assert result.exit_code == 1
    assert "deliver_outbox failed: WECHAT_APPID and WECHAT_SECRET must be set" in result.output


def test_sqlite_lease_is_exclusive_until_it_expires(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the lease row is the lock of databases without advisory locks")
    crashed, other = new_holder(), new_holder()
    assert take_lease(engine, "job", crashed, timedelta(hours=1))
    assert not take_lease(engine, "job", other, timedelta(hours=1))
    with engine.begin() as conn:  # the holder died an hour ago: its lease ran out
        conn.execute(text("UPDATE job_locks SET locked_until = '2000-01-01 00:00:00'"))
    assert take_lease(engine, "job", other, timedelta(hours=1))


def test_run_job_cli_expires_points_and_a_second_run_changes_nothing(app, runner, session):
    resident = make_resident(session)
    give_points(session, resident, 80, at=EARNED)
    session.commit()
    when = (EXPIRES + timedelta(minutes=10)).isoformat()

    first = runner.invoke(args=["scheduler", "run-job", "expire_points", "--now", when])
    second = runner.invoke(args=["scheduler", "run-job", "expire_points", "--now", when])

    assert first.exit_code == 0 and "expire_points: ok" in first.output and "'points': 80" in first.output
    assert second.exit_code == 0 and "'points': 0" in second.output
    session.commit()
    assert session.execute(select(LedgerEntry.points).where(LedgerEntry.kind == "expire")).scalars().all() == [-80]


def test_run_job_cli_queues_reminders_once(app, runner, session):
    give_points(session, make_resident(session), 80, at=EARNED)
    session.commit()
    when = (EXPIRES - timedelta(days=30)).isoformat()
    outputs = [runner.invoke(args=["scheduler", "run-job", "remind_expiring", "--now", when]).output for _ in range(2)]
    assert "'queued': 1" in outputs[0] and "'queued': 0" in outputs[1]
    session.commit()
    assert len(session.execute(select(Notification.id)).all()) == 1


def test_run_job_cli_refuses_unknown_jobs_and_bad_times(runner):
    unknown = runner.invoke(args=["scheduler", "run-job", "make_coffee"])
    assert unknown.exit_code != 0 and "Unknown job 'make_coffee'" in unknown.output and "expire_points" in unknown.output
    bad = runner.invoke(args=["scheduler", "run-job", "expire_points", "--now", "tomorrow"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


def test_scheduler_stores_every_registered_job_in_its_own_table(app, engine):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert {"expire_points", "remind_expiring", "daily_stats"} <= set(jobs)
    assert str(jobs["expire_points"].trigger) == "cron[hour='0', minute='10']"
    assert jobs["expire_points"].next_run_time.utcoffset() == timedelta(hours=8)
    assert inspect(engine).has_table(JOBSTORE_TABLE)
    with engine.connect() as conn:
        stored = set(conn.execute(text(f"SELECT id FROM {JOBSTORE_TABLE}")).scalars())
    assert stored == set(jobs)


def test_job_lock_is_exclusive_across_separate_engines(db_url):
    """Two engines stand for two scheduler processes started by mistake."""
    from sqlalchemy import create_engine

    from api.config import configure_sqlite_engine
    from carbon_credit.jobs.locks import job_lock

    engines = [create_engine(db_url) for _ in range(2)]
    for each in engines:
        configure_sqlite_engine(each)
    try:
        with job_lock(engines[0], "expire_points") as first:
            with job_lock(engines[1], "expire_points") as second:
                assert (first, second) == (True, False)
            with job_lock(engines[1], "daily_stats") as other_job:
                assert other_job
        with job_lock(engines[1], "expire_points") as after:
            assert after
    finally:
        for each in engines:
            each.dispose()


def shanghai(*parts) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def test_a_due_time_is_the_latest_fire_time_of_the_trigger(app):
    jobs = jobs_of(app)
    daily, every_five = jobs.get_job("expire_points"), jobs.get_job("advance_campaigns")  # 00:10; every 5 min
    assert due_time(daily, shanghai(2027, 1, 1, 0, 10)) == shanghai(2027, 1, 1, 0, 10)
    assert due_time(daily, shanghai(2027, 1, 1, 0, 24, 59)) == shanghai(2027, 1, 1, 0, 10)
    assert due_time(daily, shanghai(2027, 1, 1, 0, 9, 59)) == shanghai(2026, 12, 31, 0, 10)
    assert due_time(every_five, shanghai(2027, 1, 1, 10, 7, 30)) == shanghai(2027, 1, 1, 10, 5)
    assert due_time(every_five, shanghai(2027, 1, 1, 10, 10)) == shanghai(2027, 1, 1, 10, 10)
    assert due_time(every_five, INTERVAL_ANCHOR - timedelta(seconds=1)) is None


def test_the_scheduler_fires_interval_jobs_on_the_due_times_every_process_computes(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("advance_campaigns")
        fire = job.trigger.get_next_fire_time(None, shanghai(2027, 3, 4, 10, 7, 30))
    finally:
        scheduler.shutdown(wait=False)
    assert fire == shanghai(2027, 3, 4, 10, 10)
    assert due_time(jobs_of(app).get_job("advance_campaigns"), fire) == fire


def test_each_due_time_runs_once_whichever_process_fires_it(app, engine):
    calls = []
    jobs_of(app).add("test_tick", lambda app, now: calls.append(now) or {"n": len(calls)}, "interval", minutes=1)
    due, following = shanghai(2027, 1, 1, 9, 0), shanghai(2027, 1, 1, 9, 1)

    first, again, later = run_job(app, "test_tick", due=due), run_job(app, "test_tick", due=due), run_job(
        app, "test_tick", due=following)
    by_hand = run_job(app, "test_tick")

    assert [o.status for o in (first, again, later, by_hand)] == ["ok", "skipped", "ok", "ok"]
    assert again.run_id is None and len(calls) == 3
    with engine.connect() as conn:
        runs = conn.execute(select(JobRun.status, JobRun.due_at).where(JobRun.name == "test_tick")
                            .order_by(JobRun.id)).all()
    assert runs == [("ok", due), ("ok", following), ("ok", None)]


def test_a_due_time_claimed_while_the_previous_run_holds_the_lock_is_recorded_as_skipped(app, engine, slow_job):
    started, release, calls = slow_job
    first = threading.Thread(target=run_job, args=(app, "test_hold"), kwargs={"due": shanghai(2027, 1, 1, 9, 0)})
    first.start()
    assert started.wait(10)
    overlapping = run_job(app, "test_hold", due=shanghai(2027, 1, 1, 9, 1))
    release.set()
    first.join(10)
    assert overlapping.status == "skipped" and len(calls) == 1
    with engine.connect() as conn:
        assert conn.execute(select(JobRun.status).where(JobRun.id == overlapping.run_id)).scalar_one() == "skipped"
