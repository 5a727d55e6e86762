"""A resident's points changes, newest first: the full statement (paged) and its first lines (the bot's 明细).

Every credit is a line of its own, from the credits table (an account's earns
are summed into one earn lot per expiry date, so the ledger no longer lists
them one by one), and a capped action (0 points) is listed with its reason;
every other change comes from the ledger: spends, expiries, adjustments,
refunds and reversals. Credits are placed by the time of the action, ledger
entries by the time they were written; at the same moment a credit comes
first, then the higher id first. A page ends at a line's ``key``, and the next
page starts after it (keyset paging over both sources at once).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import and_, false, or_, select, true

from carbon_credit.models import ActionType, Credit, GreenAction, LedgerEntry
from carbon_credit.models.residents import Account
from carbon_credit.models.rewards import Redemption, Reward
from carbon_credit.timeutil import local_date

REDEMPTION_REFERENCES = ("redemption:", "redemption-refund:")
CREDIT_KEY, ENTRY_KEY = "c", "e"


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    day: date  # Shanghai date
    kind: str  # credit | spend | expire | adjust | refund | reverse
    points: int  # signed: + in, - out
    name: str  # the action type (credit), the reward (spend, refund) or the reason (adjust, reverse)
    credit: Optional[Credit] = None
    entry_id: Optional[int] = None  # the ledger entry's id (every kind but credit)

    @property
    def key(self) -> str:
        """Where a page ending at this line ends: ``c<credit id>`` or ``e<ledger entry id>``."""
        return f"{CREDIT_KEY}{self.credit.id}" if self.credit is not None else f"{ENTRY_KEY}{self.entry_id}"

    def _order(self) -> tuple:
        return (self.at, self.credit is not None, self.credit.id if self.credit is not None else self.entry_id)


@dataclass(frozen=True)
class _Anchor:
    at: datetime
    is_credit: bool
    id: int


def _anchor(session, resident_id: int, key: Optional[str]) -> Optional[_Anchor]:
    """The line a page ends at, from its key; None (start at the newest) for a key of no line of the resident."""
    if not key or key[:1] not in (CREDIT_KEY, ENTRY_KEY) or not key[1:].isdigit():
        return None
    found_id = int(key[1:])
    if key[0] == CREDIT_KEY:
        at = session.execute(select(GreenAction.occurred_at).join(Credit, Credit.id == GreenAction.id)
                             .where(Credit.id == found_id, Credit.resident_id == resident_id)).scalar_one_or_none()
    else:
        at = session.execute(select(LedgerEntry.created_at).join(Account, Account.id == LedgerEntry.account_id)
                             .where(LedgerEntry.id == found_id, LedgerEntry.kind != "earn",
                                    Account.resident_id == resident_id)).scalar_one_or_none()
    return None if at is None else _Anchor(at, key[0] == CREDIT_KEY, found_id)


def _after(anchor: Optional[_Anchor], at, row_id, is_credit: bool):
    """Lines of one source that come after the anchor in the statement's order (time, credit first, id; newest first)."""
    if anchor is None:
        return true()
    if is_credit:
        same_moment = and_(at == anchor.at, row_id < anchor.id) if anchor.is_credit else false()
    else:
        same_moment = and_(at == anchor.at, true() if anchor.is_credit else row_id < anchor.id)
    return or_(at < anchor.at, same_moment)


def _credit_lines(session, resident_id: int, limit: int, anchor: Optional[_Anchor] = None) -> list[StatementLine]:
    rows = session.execute(
        select(Credit, ActionType.name, GreenAction.occurred_at)
        .join(GreenAction, GreenAction.id == Credit.id)
        .outerjoin(ActionType, ActionType.code == Credit.action_type)
        .where(GreenAction.resident_id == resident_id,  # through the actions' (resident, time) index
               _after(anchor, GreenAction.occurred_at, Credit.id, True))
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


def _entry_lines(session, resident_id: int, limit: int, anchor: Optional[_Anchor] = None) -> list[StatementLine]:
    entries = session.execute(
        select(LedgerEntry).join(Account, Account.id == LedgerEntry.account_id)
        .where(Account.resident_id == resident_id, LedgerEntry.kind != "earn",
               _after(anchor, LedgerEntry.created_at, LedgerEntry.id, False))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(limit)
    ).scalars().all()
    titles = _reward_titles(session, entries)
    lines = []
    for entry in entries:
        redemption = _redemption_id(entry.reference)
        name = titles.get(redemption, "") if redemption is not None else entry.reason
        lines.append(StatementLine(at=entry.created_at, day=local_date(entry.created_at), kind=entry.kind,
                                   points=entry.points, name=name or "", entry_id=entry.id))
    return lines


def statement_page(session, resident_id: int, *, after: Optional[str] = None, limit: int = 20
                   ) -> tuple[list[StatementLine], bool]:
    """One page of the resident's statement, newest first, starting after the line whose key is ``after``
    (the first page when None), and whether more lines follow."""
    anchor = _anchor(session, resident_id, after)
    lines = _credit_lines(session, resident_id, limit + 1, anchor) + _entry_lines(session, resident_id, limit + 1,
                                                                                   anchor)
    lines.sort(key=StatementLine._order, reverse=True)
    return lines[:limit], len(lines) > limit


def recent_changes(session, resident_id: int, limit: int = 5) -> list[StatementLine]:
    """The resident's last ``limit`` points changes of any kind, newest first."""
    return statement_page(session, resident_id, limit=limit)[0]
