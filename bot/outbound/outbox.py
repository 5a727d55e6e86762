"""Delivering the notification outbox as template messages.

Rows are claimed in a short transaction (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two deliverers never take the same row): each claimed row gets
a lease (its ``next_attempt_at`` moves past the send) and the claim commits.
WeChat is then called with no transaction open, and each result is committed
on its own. A deliverer that dies mid-send leaves the row to be retried once
the lease ends. A message sent is recorded with what it said (template,
keyword values, page) and whether the offline client only recorded it.

A digest of the bulk ingest (a resident's trips of one day) holds no payload:
it is built as the row is claimed, from the day's credits and the balance then.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

import requests
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy.exceptions import WeChatClientException

from carbon_credit.models import ActionType, Notification, Resident, TemplateRefusal, TemplateSend
from carbon_credit.outreach.notifications import digest_payloads, is_digest

from .client import describe_error
from .offline import is_offline
from .templates import action_codes, render_data

log = logging.getLogger(__name__)

MAX_DELAY = timedelta(hours=6)
LEASE = timedelta(minutes=15)
# What a WeChat error code means for the row; anything not listed fails the row for good.
ERRCODE_OUTCOMES = {
    -1: "retry",  # system busy
    45009: "retry",  # API quota reached for today
    40001: "retry", 40014: "retry", 42001: "retry",  # token refused even after the client's one refresh
    43101: "refused",  # the resident refused this template's messages
    43004: "not_following",
}


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0

    def merge(self, other: "DeliveryReport") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Job:
    id: int
    resident_id: int
    kind: str
    openid: str
    template_id: str
    data: dict
    url: str | None
    attempts: int
    lease_until: datetime


@dataclass
class _Result:
    outcome: str  # sent | retry | refused | not_following | failed
    error: str = ""
    msg_id: int | None = None
    offline: bool = False


@dataclass
class _ClaimContext:
    residents: dict
    refusals: set
    templates: dict
    action_names: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)  # notification id -> what a digest says now (None: nothing)

    def payload(self, note: Notification) -> dict:
        """What the message says: its own payload, or for a digest the one built for this claim."""
        if is_digest(note):
            return self.digests.get(note.id) or {}
        return note.payload or {}


def deliver_outbox(session, client, now: datetime, *, limit: int, max_attempts: int, base_delay: int,
                   templates: dict | None = None) -> DeliveryReport:
    """Send up to ``limit`` due notifications; commits the claim and each result.

    A transient failure is retried after ``base_delay`` seconds, doubled after each, up to
    ``max_attempts`` tries (the app's WECHAT_OUTBOX_* settings).
    """
    report = DeliveryReport()
    # Settle the shared token before this session opens a snapshot (see qrcodes.ensure_qrcode).
    client.access_token
    jobs = _claim(session, now, limit, templates or {}, report)
    policy = _Policy(now, max_attempts, base_delay, report)
    for job in jobs:
        _record(session, job, _send(client, job), policy)
    return report


def _due_query(session, now: datetime, limit: int):
    query = (
        select(Notification)
        .where(Notification.status == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


def _claim(session, now, limit, templates, report) -> list[_Job]:
    notes = session.scalars(_due_query(session, now, limit)).all()
    report.claimed += len(notes)
    context = _claim_context(session, notes, templates)
    jobs = []
    for note in notes:
        reason = _skip_reason(note, context)
        if reason:
            note.status, note.last_error = "skipped", reason
            report.skipped += 1
            continue
        jobs.append(_lease(note, context, now))
    session.commit()
    return jobs


def _claim_context(session, notes, templates) -> _ClaimContext:
    resident_ids = {n.resident_id for n in notes}
    residents = {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))}
    refusals = {(rid, kind) for rid, kind in session.execute(
        select(TemplateRefusal.resident_id, TemplateRefusal.kind).where(TemplateRefusal.resident_id.in_(resident_ids)))}
    context = _ClaimContext(residents, refusals, templates, digests=digest_payloads(session, notes))
    codes = {code for n in notes for code in action_codes(context.payload(n))}
    context.action_names = {code: name for code, name in session.execute(
        select(ActionType.code, ActionType.name).where(ActionType.code.in_(codes)))}
    return context


def _skip_reason(note: Notification, context: _ClaimContext) -> str:
    """Why this row must not be sent at all ('' when it may be)."""
    resident = context.residents.get(note.resident_id)
    if resident is None or resident.status != "active" or not resident.openid:
        return f"resident is {resident.status if resident else 'missing'}; no messages are sent"
    if (note.resident_id, note.kind) in context.refusals:
        return f"resident refused {note.kind} messages (43101)"
    if note.kind not in context.templates:
        return f"no template configured for kind {note.kind!r} (set WECHAT_TEMPLATES)"
    if is_digest(note) and context.digests.get(note.id) is None:
        return f"no credited points on {note.digest_day.isoformat()} any more; nothing to tell"
    return ""


def _lease(note: Notification, context: _ClaimContext, now: datetime) -> _Job:
    spec = context.templates[note.kind]
    note.attempts += 1
    note.next_attempt_at = now + LEASE
    return _Job(note.id, note.resident_id, note.kind, context.residents[note.resident_id].openid, spec.template_id,
                render_data(spec, context.payload(note), context.action_names), spec.url, note.attempts,
                note.next_attempt_at)


def _send(client, job: _Job) -> _Result:
    try:
        answer = client.message.send_template(job.openid, job.template_id, job.data, url=job.url)
    except WeChatClientException as exc:
        return _Result(ERRCODE_OUTCOMES.get(exc.errcode, "retry" if exc.errcode is None else "failed"),
                       describe_error(exc))
    except requests.RequestException as exc:
        return _Result("retry", describe_error(exc))
    except Exception as exc:  # noqa: BLE001 - one bad row must not stop the outbox; it is retried, then failed
        log.exception("template send of notification %s failed unexpectedly", job.id)
        return _Result("retry", f"{type(exc).__name__}: {exc}")
    return _Result("sent", msg_id=answer.get("msgid"), offline=is_offline(client))


@dataclass
class _Policy:
    now: datetime
    max_attempts: int
    base_delay: int
    report: DeliveryReport


def _record(session, job: _Job, result: _Result, policy: _Policy) -> None:
    query = select(Notification).where(Notification.id == job.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    note = session.scalar(query)
    if note is None or note.status != "pending" or note.next_attempt_at != job.lease_until:
        session.rollback()  # the lease ran out and another deliverer took the row over
        return
    RECORDERS[result.outcome](session, note, job, result, policy)
    note.last_error = result.error[:256] or None
    session.commit()


def _record_sent(session, note, job, result, policy) -> None:
    note.status, note.sent_at = "sent", policy.now
    session.add(TemplateSend(notification_id=note.id, msg_id=result.msg_id or 0, openid=job.openid,
                             template_id=job.template_id, data=job.data, url=job.url, status="sent",
                             offline=result.offline, sent_at=policy.now))
    policy.report.sent += 1


def _record_retry(session, note, job, result, policy) -> None:
    if note.attempts >= policy.max_attempts:
        note.status = "failed"
        policy.report.failed += 1
        return
    note.next_attempt_at = policy.now + backoff(note.attempts, policy.base_delay)
    policy.report.retried += 1


def _record_refused(session, note, job, result, policy) -> None:
    record_refusal(session, note.resident_id, note.kind, policy.now)
    note.status = "skipped"
    policy.report.skipped += 1


def _record_skipped(session, note, job, result, policy) -> None:
    note.status = "skipped"
    policy.report.skipped += 1


def _record_failed(session, note, job, result, policy) -> None:
    note.status = "failed"
    policy.report.failed += 1


RECORDERS = {
    "sent": _record_sent,
    "retry": _record_retry,
    "refused": _record_refused,
    "not_following": _record_skipped,
    "failed": _record_failed,
}


def backoff(attempts: int, base_delay: int) -> timedelta:
    """Wait after the ``attempts``-th failed try: base, 2×base, 4×base … at most six hours."""
    return min(timedelta(seconds=base_delay * 2 ** (attempts - 1)), MAX_DELAY)


def record_refusal(session, resident_id: int, kind: str, now: datetime) -> None:
    """Remember that this resident refuses ``kind`` messages (idempotent)."""
    try:
        with session.begin_nested():
            session.add(TemplateRefusal(resident_id=resident_id, kind=kind, created_at=now))
    except IntegrityError:
        pass


def record_template_result(session, openid: str, msg_id: int, status: str, now: datetime) -> TemplateSend | None:
    """TEMPLATESENDJOBFINISH: store WeChat's final status; "failed:user block" is a refusal.

    Flushes, never commits; None when the message is not one of ours.
    """
    send = session.scalar(select(TemplateSend).where(TemplateSend.msg_id == int(msg_id), TemplateSend.openid == openid))
    if send is None:
        return None
    send.status, send.finished_at = (status or "")[:32], now
    if status == "failed:user block":
        note = session.get(Notification, send.notification_id)
        record_refusal(session, note.resident_id, note.kind, now)
    session.flush()
    return send
