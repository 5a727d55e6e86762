"""The checkpoint rows of bulk runs, as the console lists them."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import IngestRun


def list_runs(session, page: int = 1, size: int = 50) -> tuple[list[IngestRun], bool]:
    """Runs, most recently updated first, a page at a time, and whether another page follows."""
    rows = list(session.scalars(select(IngestRun).order_by(IngestRun.updated_at.desc(), IngestRun.id.desc())
                                .offset((page - 1) * size).limit(size + 1)))
    return rows[:size], len(rows) > size


def find_run(session, source: str, content_hash: str) -> IngestRun | None:
    return session.scalar(select(IngestRun).where(IngestRun.source == source, IngestRun.content_hash == content_hash))


def unfinished_runs(session) -> list[IngestRun]:
    return list(session.scalars(select(IngestRun).where(IngestRun.status == "running").order_by(IngestRun.id)))
