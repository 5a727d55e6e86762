"""Residents come into being the first time WeChat tells us their openid.

That can happen from several places at once (a follow event, an H5 page's
OAuth exchange, a QR scan), so registration is find-or-create guarded by the
unique openid, never by check-then-insert alone.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carbon_credit.errors import Conflict, DomainError, InvalidInput, NotFound
from carbon_credit.models import Account, Resident
from carbon_credit.outreach.notifications import skip_pending_notifications
from carbon_credit.staff.audit import audit


def find_resident_by_openid(session: Session, openid: str) -> Resident | None:
    return session.scalar(select(Resident).where(Resident.openid == openid))


def register_resident(
    session: Session,
    openid: str,
    now: datetime,
    *,
    unionid: str | None = None,
    community_id: int | None = None,
    display_name: str = "",
) -> Resident:
    """The resident with this openid, created with an empty account if new.

    A resident who unfollowed and comes back is active again with the same
    account. Flushes, never commits.
    """
    resident = find_resident_by_openid(session, openid)
    if resident is None:
        resident = _create_resident(session, openid, now, unionid, community_id, display_name)
    elif resident.status == "unfollowed":
        resident.status = "active"
        resident.updated_at = now
    if unionid and resident.unionid is None:
        resident.unionid = unionid
        resident.updated_at = now
    session.flush()
    return resident


def _create_resident(session, openid, now, unionid, community_id, display_name) -> Resident:
    """Insert inside a savepoint; if another transaction registered the openid first, use theirs."""
    resident = Resident(
        openid=openid,
        unionid=unionid,
        community_id=community_id,
        display_name=display_name,
        status="active",
        created_at=now,
        updated_at=now,
    )
    resident.account = Account(balance=0, earned_total=0, grams_total=0, updated_at=now)
    try:
        with session.begin_nested():
            session.add(resident)
    except IntegrityError:
        existing = find_resident_by_openid(session, openid)
        if existing is None:
            raise
        return existing
    return resident


def _stop_pushes(session: Session, resident: Resident, now: datetime) -> None:
    skip_pending_notifications(session, resident.id, now)


def _drop_transit_cards(session: Session, resident: Resident, now: datetime) -> None:
    """Imported late: the cards module itself looks residents up."""
    from carbon_credit.residents import cards

    for card in cards.active_cards(session, resident.id):
        cards.unbind_card(session, resident.id, card.id, now)


# Leaving: called as fn(session, resident, now) whenever a resident is unlinked (unfollow or erasure),
# so every area drops what it holds on the person. Must flush, never commit.
UNLINK_HOOKS: list[Callable] = [_stop_pushes, _drop_transit_cards]


def openid_digest(openid: str, key: str) -> str:
    """A keyed hash of an openid: lets a returning follower be recognised without keeping the openid."""
    return hmac.new(key.encode("utf-8"), openid.encode("utf-8"), hashlib.sha256).hexdigest()


def follow_resident(session: Session, openid: str, now: datetime, *, hash_key: str,
                    unionid: str | None = None) -> tuple[Resident, bool]:
    """The resident behind a follow event, and whether they are coming back.

    A follower who left earlier is found by the keyed hash of their openid and
    re-linked to the same account (ledger, balance and history intact); anyone
    else is registered as new. A blocked resident stays blocked.
    """
    resident = find_resident_by_openid(session, openid)
    if resident is not None:
        returning = resident.status == "unfollowed"
        return register_resident(session, openid, now, unionid=unionid), returning
    former = session.execute(
        select(Resident).where(Resident.openid_hash == openid_digest(openid, hash_key)).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if former is None:
        return register_resident(session, openid, now, unionid=unionid), False
    former.openid, former.openid_hash, former.unionid = openid, None, unionid
    if former.status == "unfollowed":
        former.status = "active"
    former.updated_at = now
    session.flush()
    audit(session, now, "resident.refollow", "resident", former.id, actor_kind="resident", actor_id=former.id)
    return former, True


def unfollow_resident(session: Session, openid: str, now: datetime, *, hash_key: str) -> Resident | None:
    """Unlink and anonymise the resident who unfollowed; their ledger and account stay.

    WeChat's rules ask for the user's data to be deleted on unsubscribe, while
    the city's totals must not change: the account, its ledger and credits are
    kept, the profile (name, phone, unionid, cards) is dropped, pushes stop, and
    the openid is replaced by its keyed hash so that following again finds the
    same account. Unknown or already unlinked openids are a no-op (None).
    """
    resident = session.execute(
        select(Resident).where(Resident.openid == openid).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if resident is None:
        return None
    _unlink(session, resident, now, status="unfollowed", openid_hash=openid_digest(openid, hash_key))
    audit(session, now, "resident.unfollow", "resident", resident.id, actor_kind="resident", actor_id=resident.id)
    return resident


def erase_resident(session: Session, resident_id: int, now: datetime) -> Resident:
    """A resident's own request to be forgotten: unlinked like an unfollow, but for good.

    No hash of the openid is kept, so nothing can link the account to the person
    again; the anonymous account and ledger stay in the city's totals.
    """
    resident = _locked_resident(session, resident_id)
    _unlink(session, resident, now, status="anonymised", openid_hash=None)
    audit(session, now, "resident.erase", "resident", resident.id, actor_kind="resident", actor_id=resident.id)
    return resident


def _unlink(session: Session, resident: Resident, now: datetime, *, status: str, openid_hash: str | None) -> None:
    for hook in UNLINK_HOOKS:
        hook(session, resident, now)
    resident.openid, resident.openid_hash, resident.unionid = None, openid_hash, None
    resident.display_name, resident.phone_hash, resident.phone_tail = "", None, None
    if resident.status != "blocked":
        resident.status = status
    resident.updated_at = now
    session.flush()
# Phone numbers: kept only as a keyed hash (for look-up by a worker on site) and the last four digits.
_PHONE_NOISE = str.maketrans("", "", " -()")


def normalise_phone(number) -> str:
    """An 11-digit mainland mobile number; spaces, hyphens and a +86 prefix are dropped."""
    digits = str(number or "").translate(_PHONE_NOISE)
    digits = digits[3:] if digits.startswith("+86") else digits
    digits = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    if not (len(digits) == 11 and digits.isascii() and digits.isdigit() and digits.startswith("1")):
        raise InvalidInput("A mobile number has 11 digits and starts with 1.", code="invalid_phone",
                           errors={"phone": ["11 digits starting with 1"]})
    return digits


def phone_hash(number, key) -> str:
    """HMAC-SHA256 (hex) of the normalised number under the platform's phone key."""
    if not key:
        raise DomainError("No phone hash key is configured.", code="phone_key_missing")
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(key_bytes, normalise_phone(number).encode(), hashlib.sha256).hexdigest()


def find_resident_by_phone(session: Session, number, *, key) -> Resident | None:
    return session.scalar(select(Resident).where(Resident.phone_hash == phone_hash(number, key)))


def set_phone(session: Session, resident_id: int, number, now: datetime, *, key) -> Resident:
    """Record the resident's phone (hash and tail); one resident per number."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    digest = phone_hash(number, key)
    if resident.phone_hash == digest:
        return resident
    try:
        with session.begin_nested():
            resident.phone_hash, resident.phone_tail, resident.updated_at = digest, normalise_phone(number)[-4:], now
    except IntegrityError:
        session.refresh(resident)
        raise Conflict("This phone number belongs to another resident.", code="phone_taken") from None
    return resident


def block_resident(session: Session, resident_id: int, now: datetime, *, actor_id: int, reason: str) -> Resident:
    """Suspend a resident (fraud, a stolen card): their tokens are refused at once and nothing credits them.

    Every crediting, redeeming and binding path already refuses a resident who is not active;
    raising the token epoch also refuses the tokens issued before. Audited with the reason.
    """
    resident = _locked_resident(session, resident_id)
    if resident.status == "blocked":
        raise Conflict("The resident is already blocked.", code="resident_already_blocked")
    if resident.status == "anonymised":
        raise Conflict("The account is anonymised; nobody can use it.", code="resident_anonymised")
    before = resident.status
    resident.status, resident.updated_at = "blocked", now
    resident.token_epoch = (resident.token_epoch or 0) + 1
    session.flush()
    audit(session, now, "resident.block", "resident", resident.id, actor_id=actor_id, reason=reason, before=before)
    return resident


def unblock_resident(session: Session, resident_id: int, now: datetime, *, actor_id: int, reason: str) -> Resident:
    """Lift a block: the resident is active again (or unfollowed/anonymised if they left meanwhile)."""
    resident = _locked_resident(session, resident_id)
    if resident.status != "blocked":
        raise Conflict("The resident is not blocked.", code="resident_not_blocked")
    if resident.openid is not None:
        resident.status = "active"
    else:
        resident.status = "unfollowed" if resident.openid_hash is not None else "anonymised"
    resident.updated_at = now
    session.flush()
    audit(session, now, "resident.unblock", "resident", resident.id, actor_id=actor_id, reason=reason,
          after=resident.status)
    return resident


def _locked_resident(session: Session, resident_id: int) -> Resident:
    resident = session.execute(
        select(Resident).where(Resident.id == resident_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if resident is None:
        raise NotFound("No such resident.", code="resident_not_found")
    return resident
