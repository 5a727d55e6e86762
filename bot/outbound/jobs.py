"""The outbound side's scheduled jobs: the notification outbox and campaign publicity.

``bot.register`` adds them to the host's job registry.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from carbon_credit.campaigns import run_campaign_publicity
from carbon_credit.errors import WeChatNotConfigured
from carbon_credit.timeutil import utcnow

from ..database import db
from .client import get_client
from .mass_send import send_publicity
from .outbox import DeliveryReport, deliver_outbox
from .templates import templates_for

log = logging.getLogger(__name__)


def deliver_outbox_job(app, now: datetime | None = None) -> dict:
    """Deliver every due notification as a template message, batch by batch."""
    total = DeliveryReport()
    with app.app_context():
        config = app.config
        try:
            client = get_client(app)
        except WeChatNotConfigured as exc:
            log.warning("outbox not delivered: %s", exc)
            return {**asdict(total), "error": str(exc)}
        templates = templates_for(config)
        batch = config["WECHAT_OUTBOX_BATCH"]
        while True:
            report = deliver_outbox(
                db.session, client, now or utcnow(), limit=batch, templates=templates,
                max_attempts=config["WECHAT_OUTBOX_MAX_ATTEMPTS"],
                base_delay=config["WECHAT_OUTBOX_BASE_DELAY"],
            )
            total.merge(report)
            if report.claimed < batch:
                return asdict(total)


def _report(report) -> dict:
    values = vars(report) if hasattr(report, "__dict__") else {"result": str(report)}
    return {k: v for k, v in values.items() if isinstance(v, (int, str, bool, type(None)))}


def campaign_publicity_job(app, now):
    """Announce starts, remind before ends and announce results, each once per campaign."""
    try:
        client = get_client(app)
    except WeChatNotConfigured as exc:
        log.warning("campaign publicity not sent: %s", exc)
        return {"error": str(exc)}

    def send(*, campaign_id, text, community_ids, kind):
        return _report(send_publicity(db.session, client, campaign_id=campaign_id, text=text, now=now, kind=kind,
                                      community_ids=community_ids))

    return run_campaign_publicity(db.session, now, send, checkpoint=db.session.commit)


def register_jobs(jobs) -> None:
    jobs.add("deliver_outbox", deliver_outbox_job, "interval", minutes=1)
    jobs.add("campaign_publicity", campaign_publicity_job, "interval", minutes=15)
