"""Scheduled jobs: the lease a job holds while it runs, a record of each run, daily statistics."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carbon_credit.db import Base, BigID

JOB_RUN_STATUSES = ("running", "ok", "failed", "skipped")


class JobLock(Base):
    """A lease on one job name, for databases without advisory locks (SQLite).

    Taken with a conditional UPDATE (free or expired lease only), so two
    processes can never both hold it; a crashed holder's lease simply expires.
    """

    __tablename__ = "job_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(96), default="")
    locked_until: Mapped[Optional[datetime]]
    locked_at: Mapped[Optional[datetime]]


class JobRun(Base):
    """One attempt to run a job: what it did, or that it was skipped because another held the lock.

    A run the scheduler started carries the time it was due; one record per job and due time
    (the unique key) is what lets several app instances each run a scheduler while every due
    time runs once. Runs started by hand have no due time.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_name_started", "name", "started_at"), UniqueConstraint("name", "due_at"))
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | skipped
    holder: Mapped[str] = mapped_column(String(96), default="")
    due_at: Mapped[Optional[datetime]]
    started_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]
    result: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(String(512), default="")


class DailyStat(Base):
    """Credited actions per Shanghai day, community and action type; recomputed whole for a day."""

    __tablename__ = "daily_stats"
    __table_args__ = (UniqueConstraint("day", "community_id", "action_type"),)
    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("communities.id"))
    action_type: Mapped[str] = mapped_column(String(48))
    residents: Mapped[int] = mapped_column(Integer, default=0)
    actions: Mapped[int] = mapped_column(Integer, default=0)
    grams: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime]
