"""The rewards catalogue: admins manage every reward, workers those offered to their communities only.

``scope`` is the caller's communities: None for an admin (everything), a tuple
of community ids for a worker. A reward with no communities is offered to all
residents; only an admin may create or change such a reward.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import func, or_, select

from carbon_credit.errors import Forbidden, InvalidInput, NotFound
from carbon_credit.models import Community, Redemption, Resident, Reward
from carbon_credit.models.rewards import REWARD_KINDS
from carbon_credit.staff.audit import audit
from carbon_credit.staff.scope import covers

EDITABLE = ("kind", "title", "description", "points_cost", "stock", "per_resident_limit", "visible_from",
            "visible_until", "active", "community_ids")


def check_reward_fields(values: dict) -> None:
    """Every rule a reward must satisfy, with field-level messages (422 invalid_input)."""
    errors: dict[str, list[str]] = {}
    if values.get("kind") not in REWARD_KINDS:
        errors["kind"] = [f"must be one of {', '.join(REWARD_KINDS)}"]
    if not (values.get("title") or "").strip():
        errors["title"] = ["required"]
    if not isinstance(values.get("points_cost"), int) or values["points_cost"] <= 0:
        errors["points_cost"] = ["must be a whole number above 0"]
    if not isinstance(values.get("stock"), int) or values["stock"] < 0:
        errors["stock"] = ["must be a whole number, 0 or more"]
    limit = values.get("per_resident_limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        errors["per_resident_limit"] = ["must be at least 1, or empty for no limit"]
    start, end = values.get("visible_from"), values.get("visible_until")
    if start is None or end is None:
        errors.setdefault("visible_until", []).append("the visible window needs a start and an end")
    elif end <= start:
        errors["visible_until"] = ["must be after visible_from"]
    if errors:
        raise InvalidInput("The reward is not valid.", errors=errors)


def _communities(session, ids: Sequence[int], scope: Optional[Sequence[int]]) -> list[Community]:
    ids = sorted(set(ids or ()))
    if scope is not None:
        if not ids:
            raise Forbidden("A worker offers rewards to their own communities; name at least one.",
                            code="community_required")
    # A community outside a worker's area is answered as an unknown one.
    found = [c for c in session.execute(select(Community).where(Community.id.in_(ids))).scalars()
             if covers(scope, c.id)] if ids else []
    if len(found) != len(ids):
        missing = sorted(set(ids) - {c.id for c in found})
        raise InvalidInput("Unknown community.", errors={"community_ids": [f"unknown ids {missing}"]})
    return found


def may_manage(reward: Reward, scope: Optional[Sequence[int]]) -> bool:
    """Admins manage everything; a worker only rewards offered solely to their communities."""
    if scope is None:
        return True
    ids = set(reward.community_ids)
    return bool(ids) and ids <= set(scope)


def create_reward(session, now: datetime, *, actor_id: int, scope: Optional[Sequence[int]], **values) -> Reward:
    community_ids = values.pop("community_ids", None) or []
    values.setdefault("description", "")
    values.setdefault("per_resident_limit", None)
    check_reward_fields(values)
    communities = _communities(session, community_ids, scope)
    reward = Reward(**{k: values[k] for k in EDITABLE if k in values and k != "community_ids"},
                    created_by=actor_id, created_at=now, updated_at=now, communities=communities)
    session.add(reward)
    session.flush()
    audit(session, now, "reward.create", "reward", reward.id, actor_id=actor_id,
          **{k: _plain(v) for k, v in _snapshot(reward).items()})
    return reward


def update_reward(session, reward_id: int, changes: dict, now: datetime, *, actor_id: int,
                  scope: Optional[Sequence[int]]) -> Reward:
    """Change a reward; its row is locked so a stock change never loses a concurrent redemption."""
    reward = session.execute(select(Reward).where(Reward.id == reward_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if reward is None or not may_manage(reward, scope):
        raise NotFound("No such reward in your area.", code="reward_not_found")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(errors={k: ["cannot be changed"] for k in sorted(unknown)})
    merged = {**_snapshot(reward), **changes}
    check_reward_fields(merged)
    before = _snapshot(reward)
    if "community_ids" in changes:
        reward.communities = _communities(session, changes["community_ids"], scope)
    for key, value in changes.items():
        if key != "community_ids":
            setattr(reward, key, value)
    reward.updated_at = now
    session.flush()
    audit(session, now, "reward.update", "reward", reward.id, actor_id=actor_id,
          before={k: _plain(before[k]) for k in changes}, after={k: _plain(v) for k, v in changes.items()})
    return reward


def _snapshot(reward: Reward) -> dict:
    return {k: (reward.community_ids if k == "community_ids" else getattr(reward, k)) for k in EDITABLE}


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def get_reward(session, reward_id: int, scope: Optional[Sequence[int]]) -> Reward:
    """A reward a staff member can see: admins any; workers those offered to all or to their communities."""
    reward = session.get(Reward, reward_id)
    if reward is None or not _visible_to_staff(reward, scope):
        raise NotFound("No such reward.", code="reward_not_found")
    return reward


def _visible_to_staff(reward: Reward, scope) -> bool:
    return scope is None or not reward.community_ids or bool(set(reward.community_ids) & set(scope))


def list_rewards(session, scope: Optional[Sequence[int]], *, include_inactive: bool = True) -> list[Reward]:
    query = select(Reward).order_by(Reward.id)
    if scope is not None:
        query = query.where(or_(~Reward.communities.any(), Reward.communities.any(Community.id.in_(list(scope)))))
    if not include_inactive:
        query = query.where(Reward.active.is_(True))
    return list(session.execute(query).scalars())


def offered_to(resident: Resident):
    """The SQL condition: a reward offered to this resident's community (or to everyone)."""
    if resident.community_id is None:
        return ~Reward.communities.any()
    return or_(~Reward.communities.any(), Reward.communities.any(Community.id == resident.community_id))


def offered_rewards(session, resident: Resident, now: datetime) -> list[tuple[Reward, int]]:
    """What the resident can redeem now, with how many of each they already hold (not cancelled)."""
    rewards = list(session.execute(
        select(Reward).where(Reward.active.is_(True), Reward.visible_from <= now, Reward.visible_until > now,
                             offered_to(resident)).order_by(Reward.points_cost, Reward.id)
    ).scalars())
    held = dict(session.execute(
        select(Redemption.reward_id, func.count(Redemption.id))
        .where(Redemption.resident_id == resident.id, Redemption.status != "cancelled",
               Redemption.reward_id.in_([r.id for r in rewards]))
        .group_by(Redemption.reward_id)
    ).all()) if rewards else {}
    return [(reward, held.get(reward.id, 0)) for reward in rewards]


__all__ = [
    "check_reward_fields", "create_reward", "get_reward", "list_rewards", "may_manage", "offered_rewards",
    "offered_to", "update_reward",
]
