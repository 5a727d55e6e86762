"""A resident's recent points changes, newest first: what a short statement (the bot's 明细) lists.

Credits come from the credits table, so a capped action (0 points, no ledger
entry) is listed with its reason; every other change comes from the ledger:
spends, expiries, adjustments, refunds and reversals. Credits are placed by the
time of the action, ledger entries by the time they were written.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import select

from carbon_credit.models import ActionType, Credit, GreenAction, LedgerEntry
from carbon_credit.models.residents import Account
from carbon_credit.models.rewards import Redemption, Reward
from carbon_credit.timeutil import local_date

REDEMPTION_REFERENCES = ("redemption:", "redemption-refund:")


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    day: date  # Shanghai date
    kind: str  # credit | spend | expire | adjust | refund | reverse
    points: int  # signed: + in, - out
    name: str  # the action type (credit), the reward (spend, refund) or the reason (adjust, reverse)
    credit: Optional[Credit] = None


def _credit_lines(session, resident_id: int, limit: int) -> list[StatementLine]:
    rows = session.execute(
        select(Credit, ActionType.name, GreenAction.occurred_at)
        .join(GreenAction, GreenAction.id == Credit.id)
        .outerjoin(ActionType, ActionType.code == Credit.action_type)
        .where(GreenAction.resident_id == resident_id)  # through the actions' (resident, time) index
        .order_by(GreenAction.occurred_at.desc(), Credit.id.desc()).limit(limit)
    ).all()
    return [StatementLine(at=occurred_at, day=credit.local_day, kind="credit", points=credit.points,
                          name=name or credit.action_type, credit=credit) for credit, name, occurred_at in rows]


def _redemption_id(reference: str | None) -> int | None:
    for prefix in REDEMPTION_REFERENCES:
        if reference and reference.startswith(prefix) and reference[len(prefix):].isdigit():
            return int(reference[len(prefix):])
    return None


def _reward_titles(session, entries) -> dict[int, str]:
    ids = {rid for rid in (_redemption_id(e.reference) for e in entries) if rid is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Redemption.id, Reward.title).join(Reward, Reward.id == Redemption.reward_id)
                                .where(Redemption.id.in_(ids))).all())


def _entry_lines(session, resident_id: int, limit: int) -> list[StatementLine]:
    entries = session.execute(
        select(LedgerEntry).join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.resident_id == resident_id, LedgerEntry.kind != "earn")
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit)
    ).scalars().all()
    titles = _reward_titles(session, entries)
    lines = []
    for entry in entries:
        redemption = _redemption_id(entry.reference)
        name = titles.get(redemption, "") if redemption is not None else entry.reason
        lines.append(StatementLine(at=entry.created_at, day=local_date(entry.created_at), kind=entry.kind,
                                   points=entry.points, name=name or ""))
    return lines


def recent_changes(session, resident_id: int, limit: int = 5) -> list[StatementLine]:
    """The resident's last ``limit`` points changes of any kind, newest first."""
    lines = _credit_lines(session, resident_id, limit) + _entry_lines(session, resident_id, limit)
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]
