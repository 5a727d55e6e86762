"""The points ledger: earn lots, oldest-first spending, expiry, adjustments, refunds.

Every change writes an entry and moves the account balance in the same
transaction, under a row lock on that one resident's account (never on a
shared row). Services flush; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable, Optional

from sqlalchemy import and_, bindparam, func, literal_column, select, text

from carbon_credit.db import BulkWriter, ReadStatement
from carbon_credit.errors import InsufficientPoints, InvalidInput, NotFound
from carbon_credit.models import Account, Credit, LedgerEntry, Resident
from carbon_credit.timeutil import expiry_for

LOT_KINDS = ("earn", "adjust", "refund")
REMINDER_WINDOW = timedelta(days=30)
# What a new lot of each kind adds to its account: (account column, the lot's amount). Only what was
# earned counts towards the totals; an adjustment or a refund moves the balance alone.
LOT_MOVES = {
    "earn": (("balance", "points"), ("earned_total", "points"), ("grams_total", "grams")),
    "adjust": (("balance", "points"),),
    "refund": (("balance", "points"),),
}
# An account's earn lot of one expiry date: found by these columns among the earn entries (the partial
# unique index uq_ledger_entries_earn_lot), and topped up by adding these amounts.
EARN_LOT_KEY = ("account_id", "expires_at")
EARN_LOT_WHERE = "kind = 'earn'"
EARN_LOT_AMOUNTS = ("points", "grams", "remaining")


def earns(status: str, points: int, grams: int) -> bool:
    """Whether a credit adds to an earn lot: it was credited and moved points or grams."""
    return status == "credited" and bool(points or grams)


@lru_cache(maxsize=64)
def _expiry_of(now: datetime) -> datetime:
    return expiry_for(now)


def lot_expiry(points: int, now: datetime) -> Optional[datetime]:
    """When a lot made at ``now`` expires (per the methodology); a lot without points has nothing to expire."""
    return _expiry_of(now) if points > 0 else None


def earn_expiry(at: datetime) -> datetime:
    """The expiry date of the earn lot an earn at ``at`` tops up (also for an earn of grams alone)."""
    return _expiry_of(at)


def _move(account: Account, kind: str, points: int, grams: int, now: datetime) -> None:
    amounts = {"points": points, "grams": grams}
    for column, amount in LOT_MOVES[kind]:
        setattr(account, column, getattr(account, column) + amounts[amount])
    account.updated_at = now


def lock_account(session, resident_id: int) -> Account:
    """The resident's account, locked until the transaction ends (serialises that resident only)."""
    account = session.execute(
        select(Account).where(Account.resident_id == resident_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("This resident has no points account.", code="account_not_found")
    return account


def add_lot(session, account: Account, now: datetime, *, kind: str, points: int, grams: int = 0,
            reference=None, reason: str = "", actor_id=None) -> LedgerEntry:
    """A positive entry of its own that can later be spent (an adjustment, a refund); it expires per the methodology."""
    if kind == "earn":
        raise ValueError("an earn tops up the account's earn lot of its expiry date: add_earn, not add_lot")
    entry = LedgerEntry(account_id=account.id, kind=kind, points=points, grams=grams, remaining=points,
                        expires_at=lot_expiry(points, now), reference=reference, reason=reason,
                        actor_id=actor_id, created_at=now)
    session.add(entry)
    _move(account, kind, points, grams, now)
    return entry


@lru_cache(maxsize=None)
def _earn_upsert(dialect: str):
    """INSERT the account's earn lot of an expiry date, or add to it: one statement, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = LedgerEntry.__table__
    values = {name: bindparam(name, type_=table.c[name].type)
              for name in (*EARN_LOT_KEY, "points", "grams", "created_at")}
    statement = insert(table).values(kind="earn", remaining=values["points"], reason="", **values)
    return statement.on_conflict_do_update(
        index_elements=list(EARN_LOT_KEY), index_where=text(EARN_LOT_WHERE),
        set_={name: table.c[name] + statement.excluded[name] for name in EARN_LOT_AMOUNTS})


def add_earn(session, account: Account, now: datetime, *, points: int, grams: int) -> None:
    """What a credit earns: added to the account's earn lot of its expiry date (made by its first earn).

    One upsert, so two earns of one account never make two lots of one date, whatever
    holds the account's lock. The credit is the record of this earn; the lot only sums them.
    """
    session.execute(_earn_upsert(session.get_bind().dialect.name), {
        "account_id": account.id, "expires_at": earn_expiry(now), "points": points, "grams": grams,
        "created_at": now})
    _move(account, "earn", points, grams, now)


@dataclass(slots=True)
class EarnLot:
    """What credits earn for one account, for ``add_earn_lots`` (one credit's, or a batch's sum)."""

    account_id: int
    points: int
    grams: int
    at: Optional[datetime] = None  # when its credit was recorded, where each earn has its own time (a backfill)


@dataclass(slots=True)
class BalanceMove:
    """What a batch's earn lots add to one account, for ``move_balances``."""

    points: int = 0
    grams: int = 0


def add_earn_lots(writer: BulkWriter, earned: Iterable[EarnLot], now: Optional[datetime]) -> None:
    """Many earns at once, in one upsert: what ``add_earn`` does one earn at a time, through ``writer``.

    ``now`` is when every earn is made; None when each says when its credit was
    recorded (``at``), as a backfill records each action at its own time: it tops
    up the lot of its own expiry date, and a lot it makes starts then. The earns
    are summed per lot first (a statement may add to a row once). The balances
    are moved apart, once per account (``move_balances``), under the accounts'
    locks the caller holds.
    """
    lots: dict = {}
    for earn in earned:
        at = now if now is not None else earn.at
        key = (earn.account_id, earn_expiry(at))
        lot = lots.get(key)
        if lot is None:
            lots[key] = [earn.points, earn.grams, at]
        else:  # a lot made here starts with its first earn, as add_earn would make it
            lot[0] += earn.points
            lot[1] += earn.grams
    writer.insert_or_add("ledger_entries", (*EARN_LOT_KEY, *EARN_LOT_AMOUNTS, "created_at"),
                         [(account_id, expires, points, grams, points, at)
                          for (account_id, expires), (points, grams, at) in sorted(lots.items())],
                         key=EARN_LOT_KEY, where=EARN_LOT_WHERE, adding=EARN_LOT_AMOUNTS,
                         same={"kind": "earn", "reason": ""})


def move_balances(writer: BulkWriter, moves: dict, now: datetime) -> dict:
    """Add each account's earn lots (``{account id: BalanceMove}``) to it in one statement; returns the balances.

    The same columns and amounts as ``add_lot`` moves for each earn lot.
    """
    if not moves:
        return {}
    return writer.add_amounts("accounts", moves, LOT_MOVES["earn"], same={"updated_at": now}, returning="balance")


def _open_lots(session, account_id: int, now: datetime):
    return session.execute(
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.remaining > 0, LedgerEntry.expires_at > now)
        .order_by(LedgerEntry.expires_at, LedgerEntry.id)
        .execution_options(populate_existing=True)  # an earn's upsert may have topped a loaded lot up
    ).scalars()


def take_points(session, account: Account, now: datetime, *, kind: str, points: int, reference=None,
                reason: str = "", actor_id=None) -> LedgerEntry:
    """Consume ``points`` from the oldest unexpired lots first; refuse to go below zero."""
    if points <= 0:
        raise InvalidInput("Points to take must be positive.", code="invalid_points")
    expire_account(session, account, now)
    if account.balance < points:
        raise InsufficientPoints(f"Balance {account.balance} is below {points}.", balance=account.balance)
    left = points
    for lot in _open_lots(session, account.id, now):
        used = min(lot.remaining, left)
        lot.remaining -= used
        left -= used
        if left == 0:
            break
    entry = LedgerEntry(account_id=account.id, kind=kind, points=-points, grams=0, remaining=0,
                        reference=reference, reason=reason, actor_id=actor_id, created_at=now)
    session.add(entry)
    account.balance -= points
    account.updated_at = now
    return entry


def expire_reference(lot: LedgerEntry) -> str:
    """The unique reference of a lot's expiry: the lot, and the points it had taken in when it expired.

    A lot expires once; an earn lot that a backfill tops up after its date had
    passed has taken in more points by then, so it can expire again, for those.
    """
    return f"expire:{lot.id}:{lot.points}"


def expire_account(session, account: Account, now: datetime) -> int:
    """Write expire entries for this account's lots that are due. Returns points expired."""
    due = session.execute(
        select(LedgerEntry).where(LedgerEntry.account_id == account.id, LedgerEntry.remaining > 0,
                                  LedgerEntry.expires_at <= now)
        .execution_options(populate_existing=True)
    ).scalars().all()
    total = 0
    for lot in due:
        total += lot.remaining
        session.add(LedgerEntry(account_id=account.id, kind="expire", points=-lot.remaining, remaining=0,
                                reference=expire_reference(lot), reason="积分到期", created_at=now))
        lot.remaining = 0
    if total:
        account.balance -= total
        account.updated_at = now
    return total


def expire_due_accounts(session, now: datetime, limit: int = 1000) -> tuple[int, int]:
    """One batch of the expiry job: accounts with due lots. Returns (accounts, points).

    Each account is locked and re-read, so running the job twice, or beside a
    spend, never expires a lot twice (the ``expire_reference`` is unique).
    """
    account_ids = session.execute(
        select(LedgerEntry.account_id).where(LedgerEntry.remaining > 0, LedgerEntry.expires_at <= now)
        .group_by(LedgerEntry.account_id).limit(limit)
    ).scalars().all()
    points = 0
    for account_id in account_ids:
        account = session.execute(select(Account).where(Account.id == account_id).with_for_update()
                                  .execution_options(populate_existing=True)).scalar_one()
        points += expire_account(session, account, now)
    session.flush()
    return len(account_ids), points


@dataclass
class BalanceSummary:
    points: int
    grams: int
    earned_total: int
    expiring_soon: int
    expiring_before: datetime


def balance_summary(session, resident_id: int, now: datetime) -> BalanceSummary:
    """Points spendable now, grams CO2e credited in total, and points that expire within 30 days.

    One round trip in the session's transaction (so it sees what the session just wrote): the
    account row joined with only the open lots that expire before the horizon (the partial
    index on open lots keeps that range small).
    """
    horizon = now + REMINDER_WINDOW
    row = session.execute(_BALANCE_BY_ID.statement, {"key": resident_id, "now": now, "horizon": horizon}).first()
    found = None if row is None else _resident_balance(tuple(row), horizon)
    if found is None or found.balance is None:
        raise NotFound("This resident has no points account.", code="account_not_found")
    return found.balance


@dataclass(frozen=True)
class ResidentBalance:
    """What a resident's balance read returns: who they are now, and their balance (None: no account)."""

    resident_id: int
    status: str
    token_epoch: int
    balance: BalanceSummary | None


def _resident_balance_statement(match):
    """Resident, account and the open lots due within the window, in one statement (built once, at import).

    ``remaining > 0`` is written into the SQL, not bound, so that a prepared statement's generic
    plan can still use the partial index of open lots (its predicate must match the query's).
    """
    now = bindparam("now", type_=LedgerEntry.expires_at.type)
    horizon = bindparam("horizon", type_=LedgerEntry.expires_at.type)
    zero = literal_column("0")
    return (
        select(
            Resident.id, Resident.status, Resident.token_epoch, Account.id,
            Account.balance, Account.grams_total, Account.earned_total,
            func.coalesce(func.sum(LedgerEntry.remaining).filter(LedgerEntry.expires_at <= now), zero),
            func.coalesce(func.sum(LedgerEntry.remaining).filter(LedgerEntry.expires_at > now), zero),
        )
        .select_from(Resident)
        .outerjoin(Account, Account.resident_id == Resident.id)
        .outerjoin(LedgerEntry, and_(LedgerEntry.account_id == Account.id, LedgerEntry.remaining > zero,
                                     LedgerEntry.expires_at <= horizon))
        .where(match)
        .group_by(Resident.id, Resident.status, Resident.token_epoch, Account.id, Account.balance,
                  Account.grams_total, Account.earned_total)
    )


_BALANCE_BY_ID = ReadStatement(_resident_balance_statement(Resident.id == bindparam("key", type_=Resident.id.type)))
_BALANCE_BY_OPENID = ReadStatement(
    _resident_balance_statement(Resident.openid == bindparam("key", type_=Resident.openid.type)))


def read_resident_balance(engine, now: datetime, *, resident_id: int | None = None,
                          openid: str | None = None) -> ResidentBalance | None:
    """A resident's status, token epoch and balance summary in one statement, outside any transaction.

    For the reads residents make most (the API's balance, the bot's 余额): the caller checks the
    status and epoch it gets back, so the check and the figures come from the same moment, and a
    resident who was just credited or just spent sees it at once (nothing is cached).
    None when there is no such resident.
    """
    statement, key = (_BALANCE_BY_ID, resident_id) if openid is None else (_BALANCE_BY_OPENID, openid)
    horizon = now + REMINDER_WINDOW
    row = statement.one(engine, {"key": key, "now": now, "horizon": horizon})
    return None if row is None else _resident_balance(row, horizon)


def _resident_balance(row: tuple, horizon: datetime) -> ResidentBalance:
    rid, status, epoch, account_id, balance, grams, earned, overdue, soon = row
    summary = None if account_id is None else BalanceSummary(
        points=balance - int(overdue), grams=grams, earned_total=earned, expiring_soon=int(soon),
        expiring_before=horizon)
    return ResidentBalance(resident_id=rid, status=status, token_epoch=epoch or 0, balance=summary)


def adjust_balance(session, resident_id: int, points: int, reason: str, now: datetime, *, actor_id,
                   reference: str) -> LedgerEntry:
    """An admin correction: positive adds a fresh lot, negative takes from the oldest lots."""
    from carbon_credit.staff.audit import audit

    if points == 0:
        raise InvalidInput("An adjustment must change the balance.", code="invalid_points",
                           errors={"points": ["must not be 0"]})
    if not reason or not reason.strip():
        raise InvalidInput("An adjustment needs a reason.", errors={"reason": ["required"]})
    account = lock_account(session, resident_id)
    if points > 0:
        entry = add_lot(session, account, now, kind="adjust", points=points, reference=reference,
                        reason=reason, actor_id=actor_id)
    else:
        entry = take_points(session, account, now, kind="adjust", points=-points, reference=reference,
                            reason=reason, actor_id=actor_id)
    session.flush()
    audit(session, now, "balance.adjust", "resident", resident_id, actor_id=actor_id, points=points,
          reason=reason, entry_id=entry.id, balance_after=account.balance)
    return entry


def refund_points(session, resident_id: int, points: int, now: datetime, *, reference: str, reason: str,
                  actor_id=None) -> LedgerEntry:
    """Give points back as a fresh lot (a cancelled redemption)."""
    account = lock_account(session, resident_id)
    return add_lot(session, account, now, kind="refund", points=points, reference=reference, reason=reason,
                   actor_id=actor_id)


def ledger_is_consistent(session, account_id: int) -> bool:
    """Balance equals the sum of entries, and unspent lots add up to the balance."""
    total = session.execute(select(func.coalesce(func.sum(LedgerEntry.points), 0))
                            .where(LedgerEntry.account_id == account_id)).scalar_one()
    remaining = session.execute(select(func.coalesce(func.sum(LedgerEntry.remaining), 0))
                                .where(LedgerEntry.account_id == account_id)).scalar_one()
    balance = session.execute(select(Account.balance).where(Account.id == account_id)).scalar_one()
    return int(total) == balance == int(remaining)


def earn_lot_mismatches(session, account_ids: Optional[Iterable[int]] = None) -> dict:
    """Accounts whose earn lots do not add up to their credited credits: {account: ((points, grams) of
    the lots, (points, grams) of the credits)}; empty when every earn lot is explained by its credits.

    Every account when ``account_ids`` is None (an audit of the whole ledger), else those accounts only.
    """
    lots = select(LedgerEntry.account_id, func.sum(LedgerEntry.points), func.sum(LedgerEntry.grams)).where(
        LedgerEntry.kind == "earn").group_by(LedgerEntry.account_id)
    credits = (select(Account.id, func.sum(Credit.points), func.sum(Credit.grams))
               .join(Account, Account.resident_id == Credit.resident_id)
               .where(Credit.status == "credited").group_by(Account.id))
    if account_ids is not None:
        wanted = list(account_ids)
        lots = lots.where(LedgerEntry.account_id.in_(wanted))
        credits = credits.where(Account.id.in_(wanted))
    by_lots = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in session.execute(lots)}
    by_credits = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in session.execute(credits)}
    return {account: (by_lots.get(account, (0, 0)), by_credits.get(account, (0, 0)))
            for account in by_lots.keys() | by_credits.keys()
            if by_lots.get(account, (0, 0)) != by_credits.get(account, (0, 0))}


__all__ = [
    "BalanceMove", "BalanceSummary", "EarnLot", "LOT_KINDS", "LOT_MOVES", "add_earn", "add_earn_lots", "add_lot",
    "adjust_balance", "balance_summary", "earn_expiry", "earn_lot_mismatches", "earns", "expire_account", "expire_reference", "expire_due_accounts", "ledger_is_consistent", "lock_account",
    "lot_expiry", "move_balances", "read_resident_balance", "refund_points", "ResidentBalance", "take_points",
]
