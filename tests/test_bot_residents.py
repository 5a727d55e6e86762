"""Following, unfollowing and coming back: the person is unlinked, the city's totals are not."""
from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot import texts
from carbon_credit.models import Account, AuditLog, Credit, LedgerEntry, Notification, Resident
from carbon_credit.outreach.notifications import enqueue_notification
from carbon_credit.residents.accounts import erase_resident, follow_resident, openid_digest, unfollow_resident

from .bot_support import load_push, say, text
from .campaign_support import install_rules, weigh_in
from .factories import FIXED_NOW, make_community, make_resident

KEY = "test-openid-hash-key"
_times = itertools.count(1781000000)


def _event(name: str, openid: str) -> str:
    return load_push(name, FromUserName=openid, CreateTime=str(next(_times)))


def _totals(session):
    session.rollback()
    return session.execute(select(func.sum(Account.balance), func.sum(Account.grams_total),
                                  func.count(Credit.id.distinct())).select_from(Account).outerjoin(
        Credit, Credit.resident_id == Account.resident_id)).one()


@pytest.fixture
def member(session):
    """An active resident with a profile, points and a queued notification."""
    install_rules(session)
    resident = make_resident(session, "o-member", community=make_community(session), unionid="u-member",
                             display_name="张三明")
    resident.phone_hash, resident.phone_tail = "f" * 64, "1234"
    weigh_in(session, resident, "3", FIXED_NOW - timedelta(hours=1))
    enqueue_notification(session, resident.id, "credit", {"points": 1}, FIXED_NOW, dedupe_key="credit:member")
    session.commit()
    return resident


def test_unfollow_anonymises_the_person_and_keeps_the_ledger(session, member):
    before = _totals(session)
    balance, ledger = member.account.balance, session.scalar(select(func.count()).select_from(LedgerEntry))
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    session.commit()
    resident = session.get(Resident, member.id)
    assert (resident.status, resident.openid, resident.unionid, resident.display_name, resident.phone_hash,
            resident.phone_tail) == ("unfollowed", None, None, "", None, None)
    assert resident.openid_hash == openid_digest("o-member", KEY) != "o-member"
    assert resident.account.balance == balance > 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == ledger
    assert _totals(session) == before
    assert session.scalar(select(Notification.status)) == "skipped"
    assert enqueue_notification(session, member.id, "credit", {}, FIXED_NOW, dedupe_key="credit:later") is None
    verbs = session.scalars(select(AuditLog.verb).where(AuditLog.target_id == str(member.id))).all()
    assert "resident.unfollow" in verbs
    assert "o-member" not in str(session.scalars(select(AuditLog.detail)).all())


def test_unfollowing_twice_or_an_unknown_openid_is_harmless(session, member):
    assert unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY).id == member.id
    assert unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY) is None
    assert unfollow_resident(session, "o-stranger", FIXED_NOW, hash_key=KEY) is None


def test_coming_back_relinks_the_same_account(session, member):
    balance = member.account.balance
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    resident, returning = follow_resident(session, "o-member", FIXED_NOW + timedelta(days=3), hash_key=KEY)
    assert returning and resident.id == member.id
    assert (resident.status, resident.openid, resident.openid_hash) == ("active", "o-member", None)
    assert resident.account.balance == balance
    assert session.scalar(select(func.count()).select_from(Resident)) == 1


def test_a_different_key_cannot_relink(session, member):
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    resident, returning = follow_resident(session, "o-member", FIXED_NOW, hash_key="another-key")
    assert not returning and resident.id != member.id


def test_a_blocked_resident_stays_blocked_through_unfollow_and_return(session, member):
    member.status = "blocked"
    session.flush()
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    assert session.get(Resident, member.id).status == "blocked"
    resident, _ = follow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    assert resident.id == member.id and resident.status == "blocked"


def test_erasure_cannot_be_relinked_and_keeps_the_totals(session, member):
    before = _totals(session)
    erase_resident(session, member.id, FIXED_NOW)
    session.commit()
    erased = session.get(Resident, member.id)
    assert (erased.status, erased.openid, erased.openid_hash, erased.display_name) == ("anonymised", None, None, "")
    assert _totals(session) == before
    resident, returning = follow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    assert not returning and resident.id != member.id and resident.account.balance == 0


def test_follow_unfollow_refollow_through_the_callback(client, session, member):
    balance = member.account.balance
    assert say(client, _event("event_unsubscribe", "o-member"), "safe") is None
    session.rollback()
    assert session.scalar(select(Resident.status).where(Resident.id == member.id)) == "unfollowed"
    assert say(client, _event("event_subscribe", "o-member"), "safe") == texts.WELCOME_BACK
    assert say(client, text("o-member", "余额"), "safe").startswith(f"您的积分：{balance} 分")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Resident)) == 1


def test_a_new_follower_is_welcomed_and_a_repeat_follow_is_not_a_return(client, session):
    assert say(client, _event("event_subscribe", "o-fresh")) == texts.WELCOME
    assert say(client, _event("event_subscribe", "o-fresh")) == texts.WELCOME
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Resident)) == 1


@pytest.mark.pg_only
def test_concurrent_returns_of_one_follower_relink_once(engine, session, member):
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    session.commit()
    make = sessionmaker(engine)
    barrier, found, errors = threading.Barrier(3), [], []

    def come_back():
        with make() as own:
            try:
                barrier.wait()
                resident, _ = follow_resident(own, "o-member", FIXED_NOW, hash_key=KEY)
                own.commit()
                found.append(resident.id)
            except Exception as error:  # collected, so the assertion shows it
                errors.append(error)

    threads = [threading.Thread(target=come_back) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert found == [member.id] * 3
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Resident)) == 1


def test_unfollow_releases_bound_transit_cards(session, member):
    from carbon_credit.actions import card_trips
    from carbon_credit.residents import cards

    card_trips.bind_card(session, member.id, "3100 1234 5678", FIXED_NOW, key="card-key",
                         claim_window=timedelta(days=7))
    assert len(cards.active_cards(session, member.id)) == 1
    unfollow_resident(session, "o-member", FIXED_NOW, hash_key=KEY)
    assert cards.active_cards(session, member.id) == []
    assert cards.resident_id_for_card(session, "310012345678", key="card-key") is None
