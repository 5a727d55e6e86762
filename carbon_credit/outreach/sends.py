"""What was sent to WeChat (or, offline, what would have been): template messages, mass sends, QR codes.

Read-only lists for the console's 发送记录, newest first, a page at a time.
"""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import MassSend, Notification, QRCode
from carbon_credit.models.wechat import TemplateSend


def _page(session, query, page: int, size: int):
    rows = list(session.execute(query.offset((page - 1) * size).limit(size + 1)))
    return rows[:size], len(rows) > size


def template_sends(session, page: int = 1, size: int = 50):
    """(TemplateSend, Notification) pairs: which message went to whom, and what it said."""
    query = (select(TemplateSend, Notification).join(Notification, Notification.id == TemplateSend.notification_id)
             .order_by(TemplateSend.sent_at.desc(), TemplateSend.id.desc()))
    return _page(session, query, page, size)


def mass_sends(session, page: int = 1, size: int = 50):
    query = select(MassSend).order_by(MassSend.created_at.desc(), MassSend.id.desc())
    rows, more = _page(session, query, page, size)
    return [r[0] for r in rows], more


def qr_codes(session, page: int = 1, size: int = 50):
    query = select(QRCode).order_by(QRCode.created_at.desc(), QRCode.id.desc())
    rows, more = _page(session, query, page, size)
    return [r[0] for r in rows], more
