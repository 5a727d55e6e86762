"""The platform's own scheduled jobs: expiry, expiry reminders, daily statistics, campaigns, housekeeping.

Times are Asia/Shanghai (the scheduler's time zone). Each job commits batch by
batch and is idempotent, so a run cut short by a crash is finished by the next.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from carbon_credit.actions.card_trips import purge_unmatched_trips
from carbon_credit.campaigns import advance_campaigns
from carbon_credit.ledger.expiry import expire_points, remind_expiring
from carbon_credit.models import JobRun
from carbon_credit.outreach.notifications import purge_notifications
from carbon_credit.partners.signing import prune_nonces
from carbon_credit.reporting.daily_stats import recompute_recent_days

from .extensions import db

JOB_RUNS_KEPT = timedelta(days=30)


def expire_points_job(app, now):
    """Expire points due at the end of the year after they were earned."""
    result = expire_points(db.session, now, on_batch=db.session.commit)
    return {"accounts": result.accounts, "points": result.points, "batches": result.batches}


def remind_expiring_job(app, now):
    """Queue a reminder to residents whose points expire within 30 days (once per expiry date)."""
    return {"queued": remind_expiring(db.session, now, on_batch=db.session.commit)}


def daily_stats_job(app, now):
    """Recompute the daily statistics of the last few days (late partner files included)."""
    return {"rows_per_day": recompute_recent_days(db.session, now)}


def prune_job_runs_job(app, now):
    """Keep 30 days of job-run records."""
    removed = db.session.execute(delete(JobRun).where(JobRun.started_at < now - JOB_RUNS_KEPT)).rowcount
    return {"removed": removed}


def prune_partner_nonces_job(app, now):
    """Forget partner nonces older than the replay window (requests prune their own partner's too)."""
    return {"removed": prune_nonces(db.session, now)}


def purge_unmatched_trips_job(app, now):
    """Forget trips of unknown cards once the claim window has passed."""
    window = timedelta(days=app.config["CARD_CLAIM_WINDOW_DAYS"])
    return {"removed": purge_unmatched_trips(db.session, now, window)}


def purge_notifications_job(app, now):
    """Forget messages that ended longer ago than NOTIFICATIONS_KEEP_DAYS, and what each sent said."""
    keep = timedelta(days=app.config["NOTIFICATIONS_KEEP_DAYS"])
    return {"removed": purge_notifications(db.session, now, keep, on_batch=db.session.commit)}


def advance_campaigns_job(app, now):
    """Start campaigns whose active window opened and end those whose window closed."""
    return advance_campaigns(db.session, now)


def register_jobs(jobs) -> None:
    """Add the host's jobs to the application's registry (the faces add theirs)."""
    jobs.add("expire_points", expire_points_job, "cron", hour=0, minute=10, lease=timedelta(hours=6))
    jobs.add("remind_expiring", remind_expiring_job, "cron", hour=9, minute=0, lease=timedelta(hours=3))
    jobs.add("daily_stats", daily_stats_job, "cron", hour=4, minute=30)
    jobs.add("prune_job_runs", prune_job_runs_job, "cron", hour=3, minute=0)
    jobs.add("prune_partner_nonces", prune_partner_nonces_job, "interval", minutes=30)
    jobs.add("purge_unmatched_trips", purge_unmatched_trips_job, "cron", hour=5, minute=0)
    jobs.add("purge_notifications", purge_notifications_job, "cron", hour=5, minute=20, lease=timedelta(hours=2))
    jobs.add("advance_campaigns", advance_campaigns_job, "interval", minutes=5)
