"""Registering residents from their WeChat openid (domain service, no Flask app)."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from carbon_credit.models import Account, Resident
from carbon_credit.residents.accounts import register_resident

from .factories import FIXED_NOW, make_community


def count_residents(session) -> int:
    return session.scalar(select(func.count()).select_from(Resident))


def test_first_registration_creates_an_active_resident_with_an_empty_account(session):
    community = make_community(session)
    resident = register_resident(session, "o-first", FIXED_NOW, community_id=community.id, display_name="小林")
    assert resident.id is not None
    assert (resident.status, resident.community_id, resident.display_name) == ("active", community.id, "小林")
    assert resident.created_at == FIXED_NOW
    account = session.scalar(select(Account).where(Account.resident_id == resident.id))
    assert (account.balance, account.earned_total, account.grams_total) == (0, 0, 0)


def test_known_openid_returns_the_same_resident(session):
    first = register_resident(session, "o-again", FIXED_NOW)
    again = register_resident(session, "o-again", FIXED_NOW + timedelta(days=1))
    assert again.id == first.id
    assert count_residents(session) == 1


def test_resident_who_unfollowed_is_active_again_with_the_same_account(session):
    resident = register_resident(session, "o-back", FIXED_NOW)
    account_id = resident.account.id
    resident.status = "unfollowed"
    later = FIXED_NOW + timedelta(days=30)
    back = register_resident(session, "o-back", later)
    assert (back.id, back.status, back.updated_at, back.account.id) == (resident.id, "active", later, account_id)


def test_blocked_resident_stays_blocked(session):
    resident = register_resident(session, "o-blocked", FIXED_NOW)
    resident.status = "blocked"
    assert register_resident(session, "o-blocked", FIXED_NOW).status == "blocked"


def test_unionid_learned_later_is_kept(session):
    register_resident(session, "o-union", FIXED_NOW)
    assert register_resident(session, "o-union", FIXED_NOW, unionid="u-1").unionid == "u-1"


def test_registration_is_left_to_the_caller_to_commit(session):
    register_resident(session, "o-uncommitted", FIXED_NOW)
    session.rollback()
    assert count_residents(session) == 0


@pytest.mark.pg_only
def test_concurrent_first_sign_ins_end_with_one_resident(engine):
    """The second transaction hits the unique openid, rolls back its savepoint and uses the first's row."""
    make_session = sessionmaker(engine)
    first, second = make_session(), make_session()
    outcome = {}

    def register_second():
        outcome["resident_id"] = register_resident(second, "o-race", FIXED_NOW).id
        second.commit()

    try:
        winner = register_resident(first, "o-race", FIXED_NOW)
        racer = threading.Thread(target=register_second)
        racer.start()
        time.sleep(0.3)  # the racer is now waiting on the unique index
        assert racer.is_alive()
        first.commit()
        racer.join(timeout=10)
        assert outcome["resident_id"] == winner.id
        assert count_residents(first) == 1
    finally:
        first.close()
        second.close()
