"""Scheduled campaign jobs: state changes by the clock, and publicity through the WeChat face."""
from __future__ import annotations

import logging

from carbon_credit.campaigns import advance_campaigns, run_campaign_publicity

from .extensions import db
from .scheduler import register_job

log = logging.getLogger(__name__)


def advance_campaigns_job(app, now):
    """Start campaigns whose active window opened and end those whose window closed."""
    return advance_campaigns(db.session, now)


def _report(report) -> dict:
    values = vars(report) if hasattr(report, "__dict__") else {"result": str(report)}
    return {k: v for k, v in values.items() if isinstance(v, (int, str, bool, type(None)))}


def campaign_publicity_job(app, now):
    """Announce starts, remind before ends and announce results, each once per campaign."""
    from bot.outbound.client import WeChatNotConfigured, get_client
    from bot.outbound.mass_send import send_publicity

    try:
        client = get_client(app)
    except WeChatNotConfigured as exc:
        log.warning("campaign publicity not sent: %s", exc)
        return {"error": str(exc)}

    def send(*, campaign_id, text, community_ids, kind):
        return _report(send_publicity(db.session, client, campaign_id=campaign_id, text=text, now=now, kind=kind,
                                      community_ids=community_ids))

    return run_campaign_publicity(db.session, now, send, checkpoint=db.session.commit)


register_job("advance_campaigns", advance_campaigns_job, "interval", minutes=5)
register_job("campaign_publicity", campaign_publicity_job, "interval", minutes=15)
