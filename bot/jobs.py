"""The inbound side's housekeeping job (added to the host's job registry by ``bot.register``)."""
from __future__ import annotations

from .database import db
from .dedupe import purge_answered_pushes


def purge_answered_pushes_job(app, now):
    """Forget answered pushes older than two days (the database de-dup store; Redis keys expire by themselves)."""
    return {"removed": purge_answered_pushes(db.session, now)}
