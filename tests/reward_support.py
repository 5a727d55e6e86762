"""Builders shared by the reward, expiry and budget tests."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from carbon_credit.ledger.points import add_earn, earn_expiry, lock_account
from carbon_credit.models import LedgerEntry, Redemption, Reward

from .factories import FIXED_NOW


def give_points(session, resident, points: int, at=FIXED_NOW) -> LedgerEntry:
    """Points earned at ``at`` (with no credit behind them): the account's earn lot of their expiry, topped up."""
    account = lock_account(session, resident.id)
    add_earn(session, account, at, points=points, grams=0)
    session.flush()
    return session.execute(select(LedgerEntry).where(
        LedgerEntry.account_id == account.id, LedgerEntry.kind == "earn", LedgerEntry.expires_at == earn_expiry(at))
        .execution_options(populate_existing=True)).scalar_one()


def make_reward(session, *, communities=(), now=FIXED_NOW, **kw) -> Reward:
    values = dict(kind="coupon", title="公交乘车券", description="5元乘车券", points_cost=100, stock=10,
                  per_resident_limit=None, visible_from=now - timedelta(days=1),
                  visible_until=now + timedelta(days=30), active=True, created_at=now, updated_at=now)
    values.update(kw)
    reward = Reward(**values)
    reward.communities = list(communities)
    session.add(reward)
    session.flush()
    return reward


def balance(session, resident) -> int:
    return lock_account(session, resident.id).balance


def count(session, model, *conditions) -> int:
    return session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


def stock_of(session, reward_id: int) -> int:
    return session.execute(select(Reward.stock).where(Reward.id == reward_id)).scalar_one()


def redemptions_of(session, resident_id: int) -> list[Redemption]:
    return list(session.execute(select(Redemption).where(Redemption.resident_id == resident_id)).scalars())
