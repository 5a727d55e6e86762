"""Housekeeping jobs: nothing kept longer than it serves."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from carbon_credit.models import Notification, TemplateSend, UnmatchedTrip
from carbon_credit.outreach.notifications import purge_notifications
from carbon_credit.timeutil import local_date

from .factories import FIXED_NOW, make_resident


def _unmatched(session, trip_id, days_ago):
    at = FIXED_NOW - timedelta(days=days_ago)
    session.add(UnmatchedTrip(source="transit", external_id=trip_id, card_hash="ab" * 32, action_type="bus_ride",
                              quantity=Decimal(1), unit="trip", occurred_at=at, local_day=local_date(at),
                              attributes={}, created_at=at))


def test_trips_of_unknown_cards_are_forgotten_once_they_can_no_longer_be_claimed(app, session, runner):
    _unmatched(session, "still-claimable", 6)
    _unmatched(session, "just-past-the-window", 7.5)
    _unmatched(session, "long-gone", 9)
    session.commit()
    result = runner.invoke(args=["scheduler", "run-job", "purge_unmatched_trips", "--now", FIXED_NOW.isoformat()])
    assert result.exit_code == 0, result.output
    session.rollback()
    kept = set(session.scalars(select(UnmatchedTrip.external_id)))
    assert kept == {"still-claimable", "just-past-the-window"}


def _note(session, resident, label, status, days_ago, *, sent=False):
    at = FIXED_NOW - timedelta(days=days_ago)
    note = Notification(resident_id=resident.id, kind="review_result", payload={"label": label}, dedupe_key=label,
                        status=status, attempts=1, next_attempt_at=at, created_at=at - timedelta(minutes=5),
                        sent_at=at if sent else None)
    session.add(note)
    session.flush()
    if sent:
        session.add(TemplateSend(notification_id=note.id, msg_id=1000 + note.id, openid=resident.openid,
                                 template_id="tpl", data={"thing1": {"value": label}}, sent_at=at))
    return note


def test_messages_that_ended_are_forgotten_after_the_keep_days_with_what_they_said(app, session, runner):
    resident = make_resident(session, openid="o-keep")
    _note(session, resident, "sent-recently", "sent", 179, sent=True)
    _note(session, resident, "sent-long-ago", "sent", 181, sent=True)
    _note(session, resident, "skipped-long-ago", "skipped", 200)
    _note(session, resident, "failed-long-ago", "failed", 365)
    _note(session, resident, "still-pending", "pending", 400)  # never sent, so never forgotten
    session.commit()
    result = runner.invoke(args=["scheduler", "run-job", "purge_notifications", "--now", FIXED_NOW.isoformat()])
    assert result.exit_code == 0, result.output
    session.rollback()
    assert set(session.scalars(select(Notification.dedupe_key))) == {"sent-recently", "still-pending"}
    assert [send.data["thing1"]["value"] for send in session.scalars(select(TemplateSend))] == ["sent-recently"]


def test_the_purge_works_in_committed_batches_and_keeps_to_its_setting(session):
    resident = make_resident(session, openid="o-batches")
    for n in range(7):
        _note(session, resident, f"old-{n}", "sent", 30 + n, sent=n % 2 == 0)
    _note(session, resident, "young", "sent", 5, sent=True)
    session.commit()
    batches = []
    removed = purge_notifications(session, FIXED_NOW, timedelta(days=10), batch=3,
                                  on_batch=lambda: batches.append(session.commit()))
    assert (removed, len(batches)) == (7, 3)
    assert list(session.scalars(select(Notification.dedupe_key))) == ["young"]
    assert session.scalar(select(func.count()).select_from(TemplateSend)) == 1
