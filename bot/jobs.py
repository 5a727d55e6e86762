"""The inbound side's housekeeping job (registered with the scheduler)."""
from __future__ import annotations

from api.extensions import db
from api.scheduler import register_job

from .dedupe import purge_answered_pushes


def purge_answered_pushes_job(app, now):
    """Forget answered pushes older than two days (the database de-dup store; Redis keys expire by themselves)."""
    return {"removed": purge_answered_pushes(db.session, now)}


register_job("purge_answered_pushes", purge_answered_pushes_job, "cron", hour=3, minute=20)
