"""Redeeming rewards, using vouchers and cancelling redemptions.

Redemption order inside one transaction (and one savepoint, so a refusal
leaves nothing behind):

1. lock the resident's account row: that resident's redemptions serialise, so
   the Idempotency-Key look-up and the per-resident limit count are exact;
2. insert the redemption with a fresh voucher code (unique constraint);
3. spend the points oldest-lot-first (ledger.take_points never goes below zero);
4. take one unit of stock with ``UPDATE … SET stock = stock - 1 WHERE stock > 0``:
   the row lock and the re-checked condition make overselling impossible, and
   the stock row is locked as briefly as possible, last, just before commit.
Lock order everywhere is account → redemption → reward, so nothing deadlocks.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, IdempotencyKeyReused, NotFound, ResidentInactive
from carbon_credit.ledger.points import lock_account, refund_points, take_points
from carbon_credit.models import Community, Redemption, Resident, Reward
from carbon_credit.outreach.notifications import enqueue_notification
from carbon_credit.rewards.catalogue import offered_to
from carbon_credit.staff.audit import audit
from carbon_credit.staff.scope import covers, covers_any, resident_community

# No 0/O, 1/I/L: a code read out at a counter is typed back without doubt. 31^12 ≈ 2^59 codes.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VOUCHER_GROUPS = 3
VOUCHER_GROUP_LEN = 4


class OutOfStock(Conflict):
    code = "out_of_stock"
    message = "This reward is out of stock."


class RedemptionLimitReached(Conflict):
    code = "redemption_limit_reached"
    message = "You have already redeemed this reward as often as allowed."


class RewardNotAvailable(Conflict):
    code = "reward_not_available"
    message = "This reward cannot be redeemed now."


def new_voucher_code() -> str:
    groups = ("".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_GROUP_LEN))
              for _ in range(VOUCHER_GROUPS))
    return "-".join(groups)


def normalise_voucher_code(code: str) -> str:
    """Accept lower case, spaces and missing dashes: 'abcd efgh jkmn' -> 'ABCD-EFGH-JKMN'."""
    raw = re.sub(r"[^0-9A-Za-z]", "", code or "").upper()
    return "-".join(raw[i:i + VOUCHER_GROUP_LEN] for i in range(0, len(raw), VOUCHER_GROUP_LEN))


def _redeemable(session, resident: Resident, reward_id: int, now: datetime) -> Reward:
    reward = session.execute(select(Reward).where(Reward.id == reward_id, offered_to(resident))).scalar_one_or_none()
    if reward is None or not reward.active:
        raise NotFound("No such reward is offered to you.", code="reward_not_found")
    if not (reward.visible_from <= now < reward.visible_until):
        raise RewardNotAvailable("This reward is not offered at this time.")
    if reward.stock <= 0:
        raise OutOfStock()
    return reward


def _check_limit(session, resident_id: int, reward: Reward) -> None:
    """Called under the account lock, so the count includes every committed redemption."""
    if reward.per_resident_limit is None:
        return
    held = session.execute(select(func.count(Redemption.id)).where(
        Redemption.resident_id == resident_id, Redemption.reward_id == reward.id,
        Redemption.status != "cancelled")).scalar_one()
    if held >= reward.per_resident_limit:
        raise RedemptionLimitReached(limit=reward.per_resident_limit)


def _insert_redemption(session, resident_id: int, reward: Reward, key: Optional[str], now: datetime) -> Redemption:
    """Insert with a fresh code; a (vanishingly rare) code clash just draws another."""
    for attempt in range(5):
        redemption = Redemption(reward_id=reward.id, resident_id=resident_id, points=reward.points_cost,
                                voucher_code=new_voucher_code(), idempotency_key=key, status="issued",
                                created_at=now)
        try:
            with session.begin_nested():
                session.add(redemption)
            return redemption
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _take_stock(session, reward_id: int) -> None:
    taken = session.execute(
        update(Reward).where(Reward.id == reward_id, Reward.stock > 0).values(stock=Reward.stock - 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise OutOfStock()


def redeem_reward(session, resident_id: int, reward_id: int, now: datetime, *,
                  idempotency_key: Optional[str] = None) -> tuple[Redemption, bool]:
    """Spend the reward's points and take one unit of stock; returns (redemption, created).

    A retry with the same Idempotency-Key returns the first redemption (created
    False); the same key for another reward is refused.
    """
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    if resident.status != "active":
        raise ResidentInactive()
    account = lock_account(session, resident_id)
    if idempotency_key:
        earlier = session.execute(select(Redemption).where(
            Redemption.resident_id == resident_id, Redemption.idempotency_key == idempotency_key)).scalar_one_or_none()
        if earlier is not None:
            if earlier.reward_id != reward_id:
                raise IdempotencyKeyReused()
            return earlier, False
    reward = _redeemable(session, resident, reward_id, now)
    _check_limit(session, resident_id, reward)
    with session.begin_nested():
        redemption = _insert_redemption(session, resident_id, reward, idempotency_key, now)
        take_points(session, account, now, kind="spend", points=reward.points_cost,
                    reference=f"redemption:{redemption.id}", reason=f"兑换:{reward.title}"[:256])
        _take_stock(session, reward.id)
    session.expire(reward, ["stock"])
    enqueue_notification(session, resident_id, "redemption",
                         {"reward": reward.title, "voucher_code": redemption.voucher_code,
                          "points": reward.points_cost}, now, dedupe_key=f"redemption:{redemption.id}")
    session.flush()
    return redemption, True


def _staff_may_act(session, redemption: Redemption, scope: Optional[Sequence[int]]) -> bool:
    """A worker acts on a redemption of a resident of their communities, of a reward offered to all
    or to one of their communities; anything else reads as unknown."""
    if scope is None:
        return True
    offered = redemption.reward.community_ids
    return covers(scope, resident_community(session, redemption.resident_id)) and (
        not offered or covers_any(scope, offered))


def use_voucher(session, code: str, now: datetime, *, actor_id: int, scope: Optional[Sequence[int]]) -> Redemption:
    """Mark a voucher used at the counter; using it twice is refused (409)."""
    redemption = session.execute(select(Redemption).where(
        Redemption.voucher_code == normalise_voucher_code(code))).scalar_one_or_none()
    if redemption is None or not _staff_may_act(session, redemption, scope):
        raise NotFound("No such voucher in your area.", code="voucher_not_found")
    changed = session.execute(
        update(Redemption).where(Redemption.id == redemption.id, Redemption.status == "issued")
        .values(status="used", used_at=now, used_by=actor_id).execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(redemption)
    if changed != 1:
        raise _state_conflict(redemption)
    audit(session, now, "voucher.use", "redemption", redemption.id, actor_id=actor_id,
          reward_id=redemption.reward_id, resident_id=redemption.resident_id)
    session.flush()
    return redemption


def _state_conflict(redemption: Redemption) -> Conflict:
    if redemption.status == "used":
        return Conflict("This voucher was already used.", code="voucher_already_used")
    return Conflict("This redemption was cancelled.", code="redemption_cancelled")


def cancel_redemption(session, redemption_id: int, now: datetime, *, resident_id: Optional[int] = None,
                      actor_id: Optional[int] = None, scope: Optional[Sequence[int]] = None,
                      reason: str = "") -> Redemption:
    """Cancel an unused redemption: refund the points as a fresh lot and return the stock.

    A resident (``resident_id``) cancels their own; staff (``actor_id``, ``scope``)
    those in their area. Cancelling twice, or after use, is refused (409).
    """
    redemption = session.get(Redemption, redemption_id)
    mine = resident_id is None or (redemption is not None and redemption.resident_id == resident_id)
    if redemption is None or not mine or (actor_id is not None and not _staff_may_act(session, redemption, scope)):
        raise NotFound("No such redemption.", code="redemption_not_found")
    lock_account(session, redemption.resident_id)
    changed = session.execute(
        update(Redemption).where(Redemption.id == redemption.id, Redemption.status == "issued")
        .values(status="cancelled", cancelled_at=now, cancelled_by=actor_id, cancel_reason=reason[:256])
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(redemption)
    if changed != 1:
        raise _state_conflict(redemption)
    refund_points(session, redemption.resident_id, redemption.points, now,
                  reference=f"redemption-refund:{redemption.id}", reason="取消兑换", actor_id=actor_id)
    session.execute(update(Reward).where(Reward.id == redemption.reward_id).values(stock=Reward.stock + 1)
                    .execution_options(synchronize_session=False))
    session.expire(redemption.reward, ["stock"])
    audit(session, now, "redemption.cancel", "redemption", redemption.id,
          actor_kind="staff" if actor_id is not None else "resident",
          actor_id=actor_id if actor_id is not None else redemption.resident_id,
          points=redemption.points, reason=reason)
    session.flush()
    return redemption


def list_redemptions(session, *, resident_id: Optional[int] = None, reward_id: Optional[int] = None,
                     status: Optional[str] = None, scope: Optional[Sequence[int]] = None,
                     limit: int = 100) -> list[Redemption]:
    """Newest first; ``scope`` (a worker's communities) keeps what ``_staff_may_act`` allows."""
    query = select(Redemption).order_by(Redemption.id.desc()).limit(limit)
    if scope is not None:
        ids = list(scope)
        query = query.join(Reward, Reward.id == Redemption.reward_id).join(
            Resident, Resident.id == Redemption.resident_id).where(
                Resident.community_id.in_(ids or [-1]),
                or_(~Reward.communities.any(), Reward.communities.any(Community.id.in_(ids or [-1]))))
    if resident_id is not None:
        query = query.where(Redemption.resident_id == resident_id)
    if reward_id is not None:
        query = query.where(Redemption.reward_id == reward_id)
    if status is not None:
        query = query.where(Redemption.status == status)
    return list(session.execute(query).scalars())


__all__ = [
    "OutOfStock", "RedemptionLimitReached", "RewardNotAvailable", "cancel_redemption", "list_redemptions",
    "new_voucher_code", "normalise_voucher_code", "redeem_reward", "use_voucher",
]
