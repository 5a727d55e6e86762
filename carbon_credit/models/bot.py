"""Pushes the WeChat callback has already answered, so a retry is answered the same way.

Used when no Redis is configured: the unique key makes two workers that
receive the same retry agree on one answer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID


class InboundMessage(Base):
    __tablename__ = "wechat_inbound_messages"
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    # sha1 of MsgId, or of sender + CreateTime + Event + EventKey, taken from the raw XML.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The first answer's text; '' means the first answer was "success".
    reply: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
