"""The same invoice submitted at the same moment by two residents is accepted once (PostgreSQL, real threads)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from carbon_credit.actions.appliances import ApplianceSubmission, submit_appliance_claim
from carbon_credit.errors import Conflict
from carbon_credit.models import GreenAction
from carbon_credit.models.appliances import ApplianceClaim, EvidencePhoto
from carbon_credit.timeutil import local_date

from .factories import make_resident
from .partner_support import install_rules

JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 2048


@pytest.mark.pg_only
@pytest.mark.parametrize("attempt", range(3))
def test_one_invoice_sent_by_two_residents_at_once_is_claimed_once(engine, session, attempt):
    install_rules(session)
    resident_ids = [make_resident(session).id for _ in range(2)]
    session.commit()
    now = datetime.now(timezone.utc)
    barrier, outcomes = threading.Barrier(2), []

    def submit(resident_id):
        with sessionmaker(engine)() as own:
            sub = ApplianceSubmission(category="air_conditioner", energy_grade=1, brand="格力", model="KFR-35",
                                      label_kwh=700, invoice_no=f"RACE-{attempt}-0001",
                                      invoice_date=local_date(now) - timedelta(days=1), photo=JPEG)
            barrier.wait()
            try:
                submit_appliance_claim(own, resident_id, sub, now)
                own.commit()
                outcomes.append("ok")
            except Conflict as error:
                own.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=submit, args=(rid,)) for rid in resident_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["invoice_already_claimed", "ok"]
    counts = [session.scalar(select(func.count()).select_from(model))
              for model in (ApplianceClaim, GreenAction, EvidencePhoto)]
    assert counts == [1, 1, 1]
