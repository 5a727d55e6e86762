"""Server-side staff sessions: they hold until signed out, expired, the password changes or the account stops."""
from __future__ import annotations

from datetime import timedelta

import pytest

from carbon_credit.errors import InvalidInput
from carbon_credit.staff.sessions import (
    change_own_password,
    end_all_sessions,
    end_session,
    open_session,
    session_staff,
)

from .factories import FIXED_NOW, make_community, make_staff

HOUR = timedelta(hours=1)


def _worker(session):
    return make_staff(session, "worker", "worker", communities=[make_community(session)])


def test_a_new_session_names_its_staff_member_and_stores_no_secret(session):
    staff = _worker(session)
    secret = open_session(session, staff, FIXED_NOW, lifetime=HOUR)
    record, found = session_staff(session, secret, FIXED_NOW)
    assert found.id == staff.id
    assert record.id != secret and secret not in record.id


def test_an_ended_session_no_longer_holds(session):
    secret = open_session(session, _worker(session), FIXED_NOW, lifetime=HOUR)
    end_session(session, secret, FIXED_NOW)
    assert session_staff(session, secret, FIXED_NOW) is None


def test_a_session_expires_after_its_lifetime(session):
    secret = open_session(session, _worker(session), FIXED_NOW, lifetime=HOUR)
    assert session_staff(session, secret, FIXED_NOW + HOUR - timedelta(seconds=1)) is not None
    assert session_staff(session, secret, FIXED_NOW + HOUR) is None


def test_a_disabled_account_loses_its_sessions_at_once(session):
    staff = _worker(session)
    secret = open_session(session, staff, FIXED_NOW, lifetime=HOUR)
    staff.active = False
    session.flush()
    assert session_staff(session, secret, FIXED_NOW) is None


def test_unknown_or_missing_secrets_hold_nothing(session):
    assert session_staff(session, "made-up", FIXED_NOW) is None
    assert session_staff(session, None, FIXED_NOW) is None


def test_a_new_password_ends_every_session_of_that_person_only(session):
    staff = _worker(session)
    other = make_staff(session, "other", "admin")
    mine = [open_session(session, staff, FIXED_NOW, lifetime=HOUR) for _ in range(2)]
    theirs = open_session(session, other, FIXED_NOW, lifetime=HOUR)
    change_own_password(session, staff.id, "a-long-new-password", "hash-of-new", FIXED_NOW)
    assert [session_staff(session, s, FIXED_NOW) for s in mine] == [None, None]
    assert session_staff(session, theirs, FIXED_NOW) is not None
    assert staff.password_hash == "hash-of-new"


@pytest.mark.parametrize("password", ["short", "WORKER"])
def test_a_password_against_the_policy_changes_nothing(session, password):
    staff = _worker(session)
    secret = open_session(session, staff, FIXED_NOW, lifetime=HOUR)
    before = staff.password_hash
    with pytest.raises(InvalidInput) as refused:
        change_own_password(session, staff.id, password, "hash", FIXED_NOW)
    assert "password" in refused.value.errors
    assert staff.password_hash == before
    assert session_staff(session, secret, FIXED_NOW) is not None


def test_ending_all_sessions_counts_only_live_ones(session):
    staff = _worker(session)
    first = open_session(session, staff, FIXED_NOW, lifetime=HOUR)
    open_session(session, staff, FIXED_NOW, lifetime=HOUR)
    end_session(session, first, FIXED_NOW)
    assert end_all_sessions(session, staff.id, FIXED_NOW, reason="disabled") == 1
