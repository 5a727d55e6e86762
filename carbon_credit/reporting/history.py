"""Read-side queries: a resident's history, resident search, ledger pages, the audit log.

Each function builds a ``select`` so the caller pages it with ``page_of``; the
calendar filters are Shanghai dates, turned into UTC bounds here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Optional

from sqlalchemy import Select, func, or_, select

from carbon_credit.models import ActionType, AuditLog, Credit, GreenAction, LedgerEntry, Resident
from carbon_credit.models.residents import Account
from carbon_credit.timeutil import start_of_local_day

PAGE_LIMIT = 100


@dataclass(frozen=True)
class HistoryItem:
    action: GreenAction
    credit: Optional[Credit]
    action_type_name: str


def page_of(session, query: Select, page: int, page_size: int) -> tuple[list, int]:
    """One page of rows (1-based ``page``) and the total number of rows the query matches."""
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    page_size = max(1, min(page_size, PAGE_LIMIT))
    rows = session.execute(query.limit(page_size).offset((max(page, 1) - 1) * page_size)).all()
    return rows, int(total)


def history_query(resident_id: int, *, action_type: str | None = None, status: str | None = None,
                  since: date | None = None, until: date | None = None) -> Select:
    """A resident's actions, newest first, with their credits; ``since``/``until`` are inclusive local dates."""
    query = (select(GreenAction, Credit, ActionType.name)
             .join(ActionType, ActionType.code == GreenAction.action_type)
             .outerjoin(Credit, Credit.id == GreenAction.id)
             .where(GreenAction.resident_id == resident_id)
             .order_by(GreenAction.occurred_at.desc(), GreenAction.id.desc()))
    if action_type:
        query = query.where(GreenAction.action_type == action_type)
    if status:
        query = query.where(GreenAction.status == status)
    if since:
        query = query.where(GreenAction.occurred_at >= start_of_local_day(since))
    if until:
        query = query.where(GreenAction.occurred_at < start_of_local_day(until + timedelta(days=1)))
    return query


def history_items(rows) -> list[HistoryItem]:
    return [HistoryItem(action=row[0], credit=row[1], action_type_name=row[2]) for row in rows]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resident_search_query(*, q: str | None = None, phone_hash: str | None = None,
                          community_ids: Iterable[int] | None = None, community_id: int | None = None,
                          status: str | None = None) -> Select:
    """Residents whose display name contains ``q`` or whose openid starts with it (or whose phone
    hash equals ``phone_hash``), within ``community_ids`` when given (a worker's area)."""
    query = select(Resident).order_by(Resident.id)
    if q:
        pattern = _like_escape(q.strip())
        matches = [Resident.display_name.ilike(f"%{pattern}%", escape="\\"),
                   Resident.openid.like(f"{pattern}%", escape="\\")]
        if phone_hash:
            matches.append(Resident.phone_hash == phone_hash)
        query = query.where(or_(*matches))
    if community_ids is not None:
        query = query.where(Resident.community_id.in_(list(community_ids)))
    if community_id is not None:
        query = query.where(Resident.community_id == community_id)
    if status:
        query = query.where(Resident.status == status)
    return query


def ledger_query(resident_id: int) -> Select:
    """A resident's ledger entries, newest first."""
    return (select(LedgerEntry).join(Account, Account.id == LedgerEntry.account_id)
            .where(Account.resident_id == resident_id)
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()))


def audit_query(*, verb: str | None = None, target_type: str | None = None, target_id: str | None = None,
                actor_id: int | None = None, since: datetime | None = None, until: datetime | None = None) -> Select:
    """Entries newest first; ``since`` inclusive and ``until`` exclusive bound their time."""
    query = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if since is not None:
        query = query.where(AuditLog.created_at >= since)
    if until is not None:
        query = query.where(AuditLog.created_at < until)
    if verb:
        query = query.where(AuditLog.verb == verb)
    if target_type:
        query = query.where(AuditLog.target_type == target_type)
    if target_id:
        query = query.where(AuditLog.target_id == str(target_id))
    if actor_id is not None:
        query = query.where(AuditLog.actor_id == actor_id)
    return query


def audit_page(session, page: int, size: int, **filters) -> tuple[list[AuditLog], bool]:
    """One page (from 1) of the filtered audit log, and whether another page follows."""
    rows = list(session.scalars(audit_query(**filters).offset((page - 1) * size).limit(size + 1)))
    return rows[:size], len(rows) > size


def audit_verbs(session) -> list[str]:
    """Every verb the log holds, for a filter to offer."""
    return list(session.scalars(select(AuditLog.verb).distinct().order_by(AuditLog.verb)))
