"""Waste-sorting and recycling stations, and residents' short visits opened by scanning one."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carbon_credit.db import Base, BigID
from carbon_credit.models.org import Community

STATION_KINDS = ("recycling_station", "smart_bin", "kiosk")


class Station(Base):
    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    address: Mapped[str] = mapped_column(String(256), default="")
    # The partner whose devices weigh at this station; only it may send events naming it.
    partner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("partners.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    community: Mapped[Community] = relationship()

    @property
    def qr_scene(self) -> str:
        """The permanent QR scene printed at the station (WeChat permanent string scene)."""
        return f"station:{self.id}"


class StationVisit(Base):
    """A resident scanned the station's QR: the device's next anonymous weigh-in is theirs.

    ``action_id`` is set, once, by a conditional update when a weigh-in consumes
    the visit, so two weigh-ins can never both claim it.
    """

    __tablename__ = "station_visits"
    __table_args__ = (Index("ix_station_visits_open", "station_id", "expires_at"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    resident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("residents.id"), index=True)
    opened_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    consumed_at: Mapped[Optional[datetime]]
    action_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("green_actions.id"))
