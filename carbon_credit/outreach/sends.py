"""What was sent to WeChat (or, offline, what would have been): template messages, mass sends, QR codes, menus.

Read-only lists for the console's 发送记录, newest first, a page at a time.
Offline rows (WECHAT_OFFLINE) were recorded by the same flows at the moment
they would have been sent; each list says which.
"""
from __future__ import annotations

from sqlalchemy import exists, select

from carbon_credit.models import MassSend, MassSendBatch, MenuPublication, Notification, QRCode
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
    """(MassSend, offline) pairs; offline when its batches were recorded by the offline client."""
    offline = exists().where(MassSendBatch.mass_send_id == MassSend.id, MassSendBatch.offline.is_(True))
    query = select(MassSend, offline.label("offline")).order_by(MassSend.created_at.desc(), MassSend.id.desc())
    return _page(session, query, page, size)


def qr_codes(session, page: int = 1, size: int = 50):
    query = select(QRCode).order_by(QRCode.created_at.desc(), QRCode.id.desc())
    rows, more = _page(session, query, page, size)
    return [r[0] for r in rows], more


def menu_publications(session, page: int = 1, size: int = 50):
    query = select(MenuPublication).order_by(MenuPublication.published_at.desc(), MenuPublication.id.desc())
    rows, more = _page(session, query, page, size)
    return [r[0] for r in rows], more
