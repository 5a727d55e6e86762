"""Who may receive a campaign's mass send (群发), within WeChat's four a month.

A 服务号 reaches each follower with at most four mass sends per calendar month.
The count per resident and Shanghai month is kept in ``wechat_mass_send_quota``
and taken with one conditional upsert per batch, in the transaction that
records the send: two sends running at once can never give anyone a fifth.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from carbon_credit.models import MassSend, MassSendQuota, MassSendRecipient, Resident
from carbon_credit.timeutil import local_date, period_start

MONTHLY_MASS_SENDS = 4
UPSERT_ROWS = 1000  # rows per statement: well inside both databases' parameter limits


def quota_month(now: datetime) -> date:
    """The Shanghai calendar month ``now`` falls in, as its first day."""
    return period_start(local_date(now), "month")


def eligible_resident_ids(session, *, resident_ids=None, community_ids=None) -> list[int]:
    """Active followers (a known openid) among the residents or communities named, by id."""
    query = select(Resident.id).where(Resident.status == "active", Resident.openid.is_not(None))
    if resident_ids is not None:
        query = query.where(Resident.id.in_(list(resident_ids)))
    elif community_ids is not None:
        query = query.where(Resident.community_id.in_(list(community_ids)))
    else:
        raise ValueError("name the residents or the communities to reach")
    return list(session.scalars(query.order_by(Resident.id)))


def start_mass_send(session, campaign_id: int, kind: str, text: str, now: datetime) -> MassSend:
    """The one mass send of (campaign, kind), created on first use. Flushes."""
    query = select(MassSend).where(MassSend.campaign_id == campaign_id, MassSend.publicity_kind == kind)
    existing = session.scalar(query)
    if existing is not None:
        return existing
    mass = MassSend(campaign_id=campaign_id, publicity_kind=kind, text=text, status="sending", recipients=0,
                    over_quota=0, last_error="", created_at=now)
    try:
        with session.begin_nested():
            session.add(mass)
    except IntegrityError:
        return session.scalar(query)
    return mass


def lock_mass_send(session, mass_send_id: int) -> MassSend:
    """The mass send's row, locked until commit: one batch of it is worked on at a time."""
    query = select(MassSend).where(MassSend.id == mass_send_id).with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one()


def unreached(session, mass_send_id: int, resident_ids: list[int]) -> list[int]:
    """Those of ``resident_ids`` this mass send has not dealt with yet."""
    done = set(session.scalars(select(MassSendRecipient.resident_id).where(
        MassSendRecipient.mass_send_id == mass_send_id, MassSendRecipient.resident_id.in_(resident_ids))))
    return [rid for rid in resident_ids if rid not in done]


def _insert(session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(MassSendQuota)


def reserve_quota(session, resident_ids: list[int], month: date, limit: int = MONTHLY_MASS_SENDS) -> set[int]:
    """Count one mass send for each resident still under ``limit`` this month; returns who got it.

    Ids are taken in ascending order so concurrent reservations lock rows in one order.
    """
    granted: set[int] = set()
    ids = sorted(set(resident_ids))
    for start in range(0, len(ids), UPSERT_ROWS):
        rows = [{"resident_id": rid, "month": month, "count": 1} for rid in ids[start:start + UPSERT_ROWS]]
        stmt = _insert(session).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["resident_id", "month"],
            set_={"count": MassSendQuota.count + 1},
            where=MassSendQuota.count < limit,
        ).returning(MassSendQuota.resident_id)
        granted.update(session.scalars(stmt))
    return granted


def release_quota(session, resident_ids, month: date) -> None:
    """Give back reservations that were not used (a batch WeChat would not take)."""
    if resident_ids:
        session.execute(update(MassSendQuota).where(
            MassSendQuota.resident_id.in_(list(resident_ids)), MassSendQuota.month == month,
        ).values(count=MassSendQuota.count - 1))


def record_recipients(session, mass_send_id: int, resident_ids, outcome: str, batch_id: int | None = None) -> None:
    session.add_all(MassSendRecipient(mass_send_id=mass_send_id, resident_id=rid, batch_id=batch_id, outcome=outcome)
                    for rid in resident_ids)


def monthly_count(session, resident_id: int, now: datetime) -> int:
    row = session.get(MassSendQuota, (resident_id, quota_month(now)))
    return row.count if row else 0
