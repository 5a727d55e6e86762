"""The scheduled job that empties the notification outbox (registered with the scheduler)."""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from api.scheduler import register_job
from carbon_credit.timeutil import utcnow

from .client import WeChatNotConfigured, get_client
from .outbox import DeliveryReport, deliver_outbox
from .templates import load_templates

log = logging.getLogger(__name__)


def deliver_outbox_job(app, now: datetime | None = None) -> dict:
    """Deliver every due notification as a template message, batch by batch."""
    from api.extensions import db

    total = DeliveryReport()
    with app.app_context():
        config = app.config
        try:
            client = get_client(app)
        except WeChatNotConfigured as exc:
            log.warning("outbox not delivered: %s", exc)
            return {**asdict(total), "error": str(exc)}
        templates = load_templates(config.get("WECHAT_TEMPLATES"))
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


register_job("deliver_outbox", deliver_outbox_job, "interval", minutes=1)
