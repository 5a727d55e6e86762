"""What the outbound WeChat side has to remember between processes.

The access token's shared store (database backend), the parametric QR codes
created for stations and campaigns, the template messages handed to WeChat,
the kinds of message a resident refused, the campaign mass sends (群发)
with the per-resident monthly count that keeps everyone under four a month,
and the menus published.

Rows marked ``offline`` record what would have been sent at the moment it
would have been, on a server that does not call WeChat (WECHAT_OFFLINE: the
demo, an intranet trial). They are never handed out as if WeChat had issued them.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID

QR_KINDS = ("permanent", "temporary")


class WeChatKV(Base):
    """A small key/value store with an expiry: the access token when there is no Redis."""

    __tablename__ = "wechat_kv"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[Optional[datetime]]
    updated_at: Mapped[datetime]


class QRCode(Base):
    """A parametric QR code WeChat issued for one scene string (``station:7``, ``campaign:12``)."""

    __tablename__ = "wechat_qrcodes"
    __table_args__ = (Index("ix_wechat_qrcodes_scene_expiry", "scene", "expires_at"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    scene: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # permanent | temporary
    # Equal to ``scene`` for permanent codes WeChat issued, null otherwise: one permanent code per scene.
    permanent_scene: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    ticket: Mapped[str] = mapped_column(String(256), unique=True)
    url: Mapped[str] = mapped_column(String(256))  # what the code encodes
    expire_seconds: Mapped[Optional[int]]
    expires_at: Mapped[Optional[datetime]]  # null for permanent codes
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    # Made by the offline client: ``url`` holds the scene itself, which the menu's scanner and the H5
    # check-in page read; WeChat never saw it.
    offline: Mapped[bool] = mapped_column(default=False, server_default=false())


class TemplateSend(Base):
    """One outbox notification handed to WeChat as a template message, and how it ended."""

    __tablename__ = "wechat_template_sends"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    notification_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("notifications.id"), unique=True)
    msg_id: Mapped[int] = mapped_column(BigInteger, index=True)
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    # What was sent: the template's keyword values ({"thing1": {"value": "…"}}) and the page it opens.
    data: Mapped[dict] = mapped_column(default=dict)
    url: Mapped[Optional[str]] = mapped_column(String(1024))
    # sent (accepted by WeChat) | success | failed:user block | failed:system failed (TEMPLATESENDJOBFINISH)
    status: Mapped[str] = mapped_column(String(32), default="sent")
    offline: Mapped[bool] = mapped_column(default=False, server_default=false())
    sent_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]


class TemplateRefusal(Base):
    """A resident refused this kind of template message (43101, or "failed:user block")."""

    __tablename__ = "wechat_template_refusals"
    __table_args__ = (UniqueConstraint("resident_id", "kind"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class MassSend(Base):
    """One publicity message of a campaign (announce, remind, results), sent at most once."""

    __tablename__ = "wechat_mass_sends"
    __table_args__ = (UniqueConstraint("campaign_id", "publicity_kind"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    publicity_kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | failed
    recipients: Mapped[int] = mapped_column(default=0)  # residents the message went to
    over_quota: Mapped[int] = mapped_column(default=0)  # residents left out: 4 mass sends this month
    last_error: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]


class MassSendBatch(Base):
    """One call to WeChat's mass send (2–10,000 openids) and WeChat's final counts."""

    __tablename__ = "wechat_mass_send_batches"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    mass_send_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("wechat_mass_sends.id"), index=True)
    msg_id: Mapped[Optional[int]] = mapped_column(BigInteger, index=True)  # null when WeChat said "already sent" (45065)
    msg_data_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    recipients: Mapped[int]
    status: Mapped[str] = mapped_column(String(32), default="sent")  # sent | send success | send fail | err(...)
    offline: Mapped[bool] = mapped_column(default=False, server_default=false())
    total_count: Mapped[Optional[int]]
    filter_count: Mapped[Optional[int]]
    sent_count: Mapped[Optional[int]]
    error_count: Mapped[Optional[int]]
    sent_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]


class MassSendRecipient(Base):
    """Who one mass send reached (or left out), so a re-run never reaches anyone twice."""

    __tablename__ = "wechat_mass_send_recipients"
    __table_args__ = (UniqueConstraint("mass_send_id", "resident_id"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    mass_send_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("wechat_mass_sends.id"))
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)
    batch_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("wechat_mass_send_batches.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # sent | over_quota | too_few


class MassSendQuota(Base):
    """How many mass sends a resident received in one Shanghai calendar month (at most 4)."""

    __tablename__ = "wechat_mass_send_quota"
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)  # first day of the month
    count: Mapped[int] = mapped_column(default=0)


class MenuPublication(Base):
    """One publication of the official account's custom menu: the menu sent and WeChat's answer."""

    __tablename__ = "wechat_menu_publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    menu: Mapped[dict] = mapped_column(default=dict)  # {"button": [...]}, as sent to menu/create
    answer: Mapped[dict] = mapped_column(default=dict)
    offline: Mapped[bool] = mapped_column(default=False, server_default=false())
    published_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    published_at: Mapped[datetime] = mapped_column(index=True)
