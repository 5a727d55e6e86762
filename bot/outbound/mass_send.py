"""Campaign publicity through mass send (群发) by openid list.

Each batch (2–10,000 openids, WeChat's bounds) is one transaction: lock the
mass send, leave out whoever it already dealt with, take the monthly quota,
call WeChat, record the batch and its recipients, commit. A re-run of the same
(campaign, kind) therefore sends nothing twice, and a run cut short goes on
where it stopped. Commits, unlike the domain services, because a message that
WeChat accepted cannot be taken back: its record must not wait for the caller.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from carbon_credit.models import MassSend, MassSendBatch, Resident
from carbon_credit.outreach.mass_send_quota import (
    eligible_resident_ids,
    lock_mass_send,
    quota_month,
    record_recipients,
    release_quota,
    reserve_quota,
    start_mass_send,
    unreached,
)

from .client import describe_error
from .offline import is_offline

log = logging.getLogger(__name__)

MIN_BATCH, MAX_BATCH = 2, 10_000
ALREADY_SENT_ERRCODE = 45065  # WeChat saw this clientmsgid within 24 hours: the batch went out before


@dataclass
class PublicityReport:
    mass_send_id: int
    sent: int = 0  # residents reached by this run
    over_quota: int = 0  # left out: four mass sends this month already
    too_few: int = 0  # left out: WeChat sends to two openids or more
    batches: int = 0
    already_done: bool = False
    error: str = ""


def plan_batches(ids: list[int], size: int = MAX_BATCH) -> list[list[int]]:
    """Split into batches of at most ``size``, never leaving a lone id at the end."""
    batches = [ids[i:i + size] for i in range(0, len(ids), size)]
    if len(batches) > 1 and len(batches[-1]) < MIN_BATCH:
        batches[-1].insert(0, batches[-2].pop())
    return batches


def send_publicity(session, client, *, campaign_id: int, text: str, now: datetime, kind: str = "announce",
                   resident_ids=None, community_ids=None, batch_size: int = MAX_BATCH) -> PublicityReport:
    """Mass-send ``text`` once per (campaign, kind) to the active followers named."""
    if not MIN_BATCH < batch_size <= MAX_BATCH:  # above 2, so a lone last id can borrow one
        raise ValueError(f"batch_size must be {MIN_BATCH + 1}-{MAX_BATCH}")
    mass = start_mass_send(session, campaign_id, kind, text, now)
    report = PublicityReport(mass.id, already_done=mass.status == "sent")
    session.commit()
    if report.already_done:
        return report
    targets = eligible_resident_ids(session, resident_ids=resident_ids, community_ids=community_ids)
    for batch in plan_batches(targets, batch_size):
        if not _send_batch(session, client, report.mass_send_id, batch, now, report):
            return report
    _finish(session, report.mass_send_id, now)
    return report


def _send_batch(session, client, mass_send_id: int, batch: list[int], now: datetime, report: PublicityReport) -> bool:
    # End any read snapshot, then settle the shared token, before this batch's transaction:
    # on SQLite a token stored by another connection would otherwise stop this one writing.
    session.commit()
    client.access_token
    mass = lock_mass_send(session, mass_send_id)
    todo = unreached(session, mass_send_id, batch)
    month = quota_month(now)
    granted = sorted(reserve_quota(session, todo, month)) if todo else []
    over = [rid for rid in todo if rid not in set(granted)]
    if len(granted) < MIN_BATCH:
        release_quota(session, granted, month)
        record_recipients(session, mass_send_id, granted, "too_few")
        report.too_few += len(granted)
    else:
        try:
            batch_row = _deliver(session, client, mass, granted, now)
        except (WeChatClientException, requests.RequestException) as exc:
            session.rollback()
            _fail(session, mass_send_id, describe_error(exc), report)
            return False
        record_recipients(session, mass_send_id, granted, "sent", batch_row.id)
        report.sent += len(granted)
        report.batches += 1
        mass.recipients += len(granted)
    record_recipients(session, mass_send_id, over, "over_quota")
    report.over_quota += len(over)
    mass.over_quota += len(over)
    session.commit()
    return True


def _deliver(session, client, mass: MassSend, resident_ids: list[int], now: datetime) -> MassSendBatch:
    openids = list(session.scalars(select(Resident.openid).where(Resident.id.in_(resident_ids)).order_by(Resident.id)))
    client_msg_id = f"cc-{mass.campaign_id}-{mass.publicity_kind}-{resident_ids[0]}"[:64]
    try:
        answer = client.message.send_mass_text(openids, mass.text, client_msg_id=client_msg_id)
        msg_id, msg_data_id, status = answer.get("msg_id"), answer.get("msg_data_id"), "sent"
    except WeChatClientException as exc:
        if exc.errcode != ALREADY_SENT_ERRCODE:
            raise
        log.warning("mass send %s batch %s was already accepted by WeChat", mass.id, client_msg_id)
        msg_id, msg_data_id, status = None, None, "already sent (45065)"
    batch = MassSendBatch(mass_send_id=mass.id, msg_id=msg_id, msg_data_id=msg_data_id, recipients=len(openids),
                          status=status, offline=is_offline(client), sent_at=now)
    session.add(batch)
    session.flush()
    return batch


def _fail(session, mass_send_id: int, error: str, report: PublicityReport) -> None:
    """Keep the error where an operator sees it; the next run retries who was not reached."""
    mass = session.get(MassSend, mass_send_id)
    mass.last_error = error[:256]
    session.commit()
    report.error = error
    log.warning("mass send %s stopped: %s", mass_send_id, error)


def _finish(session, mass_send_id: int, now: datetime) -> None:
    mass = lock_mass_send(session, mass_send_id)
    mass.status, mass.finished_at, mass.last_error = "sent", now, ""
    session.commit()


def record_mass_send_result(session, msg_id: int, counts: dict, now: datetime) -> MassSendBatch | None:
    """MASSSENDJOBFINISH: WeChat's final status and counts for one batch. Flushes, never commits.

    ``counts`` takes ``status`` and ``total``/``filter``/``sent``/``error`` (also spelt
    ``total_count`` or ``TotalCount``, as in the event's XML).
    """
    batch = session.scalar(select(MassSendBatch).where(MassSendBatch.msg_id == int(msg_id)))
    if batch is None:
        return None
    for name in ("total", "filter", "sent", "error"):
        value = _count(counts, name)
        if value is not None:
            setattr(batch, f"{name}_count", value)
    status = counts.get("status") or counts.get("Status")
    if status:
        batch.status = str(status)[:32]
    batch.finished_at = now
    session.flush()
    return batch


def _count(counts: dict, name: str) -> int | None:
    for key in (name, f"{name}_count", f"{name.capitalize()}Count"):
        if counts.get(key) is not None:
            return int(counts[key])
    return None
