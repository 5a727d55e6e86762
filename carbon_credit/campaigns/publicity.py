"""The publicity schedule: announce at the start, remind N days before the end, announce results.

Each message is a row unique per (campaign, kind), inserted before anything is
sent: two runs at once, or a run after a crash, never announce twice. The
sending itself belongs to the WeChat face and is passed in as
``send(campaign_id=, text=, community_ids=)``; this module never imports it.
A send that raised is marked failed and retried by later runs (up to
MAX_ATTEMPTS); a row left ``pending`` by a crash mid-send is not resent
automatically, because the message may already have gone out.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carbon_credit.campaigns import texts
from carbon_credit.models import ActionType, Campaign, CampaignPublicity

# Results are announced only this long after the end (a first run on an old database stays quiet).
RESULTS_GRACE = timedelta(days=7)
MAX_ATTEMPTS = 3


def due_kinds(campaign: Campaign, now: datetime) -> list[str]:
    """Which publicity messages the schedule calls for at ``now``."""
    kinds = []
    running = campaign.active_from <= now < campaign.active_until
    if campaign.announce_start and running:
        kinds.append("start")
    if campaign.remind_days_before and running and \
            now >= campaign.active_until - timedelta(days=campaign.remind_days_before):
        kinds.append("reminder")
    if campaign.announce_results and campaign.active_until <= now < campaign.active_until + RESULTS_GRACE:
        kinds.append("results")
    return kinds


def publicity_text(session, campaign: Campaign, kind: str, now: datetime) -> str:
    if kind == "start":
        names = dict(session.execute(select(ActionType.code, ActionType.name)).all())
        return texts.start_text(campaign, names)
    if kind == "reminder":
        days_left = max(1, -(-int((campaign.active_until - now).total_seconds()) // 86400))
        return texts.reminder_text(campaign, days_left)
    from carbon_credit.reporting.figures import campaign_figures

    figures = campaign_figures(session, campaign.id)
    # Enrolment covers everyone who acted or checked in, plus those who signed up.
    participants = max(figures["participants"], figures["checkin_participants"], figures["enrolled"])
    return texts.results_text(campaign, participants, figures["actions"] + figures["checkins"],
                              figures["grams"], figures["points"] + figures["checkin_points"])


def _claim(session, campaign: Campaign, kind: str, now: datetime) -> Optional[CampaignPublicity]:
    row = CampaignPublicity(campaign_id=campaign.id, kind=kind, text=publicity_text(session, campaign, kind, now),
                            status="pending", attempts=0, result={}, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def _deliver(session, row: CampaignPublicity, campaign: Campaign, send: Callable, now: datetime) -> bool:
    row.attempts += 1
    try:
        result = send(campaign_id=campaign.id, text=row.text, community_ids=campaign.community_ids, kind=row.kind)
    except Exception as error:  # noqa: BLE001 - any failure of the face is recorded and retried
        row.status, row.result = "failed", {"error": f"{type(error).__name__}: {error}"[:250]}
        session.flush()
        return False
    row.status, row.sent_at = "sent", now
    row.result = result if isinstance(result, dict) else {"result": str(result)}
    session.flush()
    return True


def run_campaign_publicity(session, now: datetime, send: Callable, checkpoint: Optional[Callable] = None) -> dict:
    """Send what the schedule calls for now, each message once.

    ``checkpoint`` (the job passes the session's commit) is called after the
    messages are claimed and before any is sent, so a crash during sending
    cannot lose the claim and send again.
    """
    candidates = session.execute(
        select(Campaign).where(Campaign.status.in_(("published", "running", "ended")),
                               Campaign.active_from <= now, Campaign.active_until > now - RESULTS_GRACE)
        .order_by(Campaign.id)).scalars().all()
    work = [(row, campaign) for campaign in candidates for kind in due_kinds(campaign, now)
            if (row := _claim(session, campaign, kind, now)) is not None]
    retry = session.execute(
        select(CampaignPublicity, Campaign).join(Campaign, Campaign.id == CampaignPublicity.campaign_id)
        .where(CampaignPublicity.status == "failed", CampaignPublicity.attempts < MAX_ATTEMPTS,
               Campaign.status != "cancelled")).all()
    work.extend((row, campaign) for row, campaign in retry)
    session.flush()
    if checkpoint is not None:
        checkpoint()
    sent = sum(_deliver(session, row, campaign, send, now) for row, campaign in work)
    return {"claimed": len(work) - len(retry), "retried": len(retry), "sent": sent, "failed": len(work) - sent}
