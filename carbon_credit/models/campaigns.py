"""Green-community campaigns (垃圾分类周, 全国低碳日 …), enrolments, check-ins and publicity.

Bonus rules are typed data on the campaign row: multipliers per action type, a
one-off bonus for the first qualifying action, and check-in points with limits.
Every "only once" fact is a row guarded by a unique constraint, never a check
before an insert: one enrolment per resident and campaign (which also records
who received the first-action bonus), one check-in per slot, one publicity
message per kind.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base, BigID
from carbon_credit.models.org import Community

CAMPAIGN_STATUSES = ("draft", "published", "running", "ended", "cancelled")
QR_KINDS = ("temporary", "permanent")
PUBLICITY_KINDS = ("start", "reminder", "results")

campaign_communities = Table(
    "campaign_communities",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_status_active", "status", "active_from", "active_until"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    cover_text: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # Residents see the campaign during the visible window; bonuses apply in the active window.
    visible_from: Mapped[datetime]
    visible_until: Mapped[datetime]
    active_from: Mapped[datetime]
    active_until: Mapped[datetime]
    # Action types that count for the campaign (figures, enrolment by first action, first bonus).
    action_types: Mapped[list] = mapped_column(default=list)
    multipliers: Mapped[dict] = mapped_column(default=dict)  # {"recyclables_dropoff": "2"}
    first_action_bonus: Mapped[int] = mapped_column(default=0)
    checkin_points: Mapped[int] = mapped_column(default=0)
    checkin_daily_limit: Mapped[int] = mapped_column(default=1)
    checkin_total_limit: Mapped[Optional[int]]
    checkin_qr: Mapped[Optional[str]] = mapped_column(String(16))  # temporary | permanent | None
    announce_start: Mapped[bool] = mapped_column(default=True)
    remind_days_before: Mapped[Optional[int]]
    announce_results: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[Optional[datetime]]
    cancelled_at: Mapped[Optional[datetime]]
    # Set when a person ended the campaign early: the end it was published with (active_until is the real end).
    planned_until: Mapped[Optional[datetime]]
    communities: Mapped[list[Community]] = relationship(secondary=campaign_communities, order_by="Community.id")

    @property
    def community_ids(self) -> list[int]:
        return [c.id for c in self.communities]

    @property
    def summary(self) -> str:
        """The cover text, or the start of the description when no cover text was written."""
        if self.cover_text:
            return self.cover_text
        text = (self.description or "").strip()
        return text if len(text) <= 60 else text[:59] + "…"

    @property
    def checkin_scene(self) -> Optional[str]:
        """The QR scene string the bot dispatches to the campaign check-in handler."""
        return f"campaign:{self.id}" if self.checkin_points > 0 else None


class CampaignEnrolment(Base):
    """A resident taking part; the first-action bonus is claimed once, by a conditional update."""

    __tablename__ = "campaign_enrolments"
    __table_args__ = (UniqueConstraint("campaign_id", "resident_id"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # self | action | checkin | worker
    # Set when the first-action bonus was given; the action is unknown on the bulk path (None).
    first_bonus_claimed_at: Mapped[Optional[datetime]]
    first_bonus_action_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("green_actions.id"))
    enrolled_at: Mapped[datetime]


class CampaignCheckin(Base):
    """One check-in; slots 1..daily limit per Shanghai day make the daily limit a unique key."""

    __tablename__ = "campaign_checkins"
    __table_args__ = (
        UniqueConstraint("campaign_id", "resident_id", "local_day", "slot"),
        Index("ix_campaign_checkins_campaign_day", "campaign_id", "local_day"),
    )
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"))
    local_day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int]
    # Written first, then the action that credits it: the check-in points go only to actions made here.
    action_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("green_actions.id"), unique=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    via: Mapped[str] = mapped_column(String(16))  # qr | worker
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    checked_in_at: Mapped[datetime]


class CampaignPublicity(Base):
    """One publicity message of one kind per campaign: the unique key makes the job run-twice safe."""

    __tablename__ = "campaign_publicity"
    __table_args__ = (UniqueConstraint("campaign_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # start | reminder | results
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]
