import threading
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from carbon_credit.actions.campaign_checkins import check_in_on_site
from carbon_credit.errors import Conflict, InvalidInput
from carbon_credit.models import Account, CampaignCheckin, Credit, GreenAction, Resident
from carbon_credit.scans import scan_scene

from .campaign_support import install_rules, running_campaign
from .factories import FIXED_NOW, make_community, make_resident


def _setup(session, **kw):
    install_rules(session)
    home = make_community(session)
    campaign = running_campaign(session, [home], checkin_points=20, checkin_qr="temporary", **kw)
    return campaign, home


def test_scan_checks_in_once_a_day_and_credits_through_the_ledger(session):
    campaign, home = _setup(session, checkin_total_limit=2)
    resident = make_resident(session, community=home)
    first = scan_scene(session, resident, f"campaign:{campaign.id}", FIXED_NOW)
    assert (first.ok, first.code, first.points, first.balance, first.title) == (True, "checked_in", 20, 20, "垃圾分类周")
    credit = session.query(Credit).filter_by(action_type="campaign_checkin").one()
    assert credit.trace["adjustments"][0]["ref"] == {"campaign_id": campaign.id, "rule": "checkin_points"}
    again = scan_scene(session, resident, f"campaign:{campaign.id}", FIXED_NOW + timedelta(hours=1))
    assert (again.ok, again.code, again.points) == (False, "already_checked_in", 0)
    assert scan_scene(session, resident, f"campaign:{campaign.id}", FIXED_NOW + timedelta(days=1)).ok
    limit = scan_scene(session, resident, f"campaign:{campaign.id}", FIXED_NOW + timedelta(days=2))
    assert limit.code == "limit_reached"
    assert session.get(Account, resident.account.id).balance == 40


def test_scan_refusals(session):
    campaign, home = _setup(session)
    stranger = make_resident(session, community=make_community(session))
    resident = make_resident(session, community=home)
    assert scan_scene(session, stranger, f"campaign:{campaign.id}", FIXED_NOW).code == "outside_community"
    assert scan_scene(session, resident, f"campaign:{campaign.id}", campaign.active_until).code == "not_open"
    assert scan_scene(session, resident, "campaign:99999", FIXED_NOW).code == "unknown_scene"
    assert session.query(CampaignCheckin).count() == 0 and session.query(GreenAction).count() == 0


def test_worker_check_in_outside_the_window_is_refused_and_writes_nothing(session):
    campaign, home = _setup(session)
    resident = make_resident(session, community=home)
    with pytest.raises(Conflict) as raised:
        check_in_on_site(session, campaign.id, {"resident_id": resident.id}, campaign.active_until, staff_id=None)
    assert raised.value.code == "checkin_not_open"
    with pytest.raises(InvalidInput) as raised:
        check_in_on_site(session, campaign.id, {"resident_id": resident.id, "phone": "13800000000"}, FIXED_NOW,
                         staff_id=None)
    assert raised.value.code == "resident_identifier_required"
    assert session.query(GreenAction).count() == 0
    result = check_in_on_site(session, campaign.id, {"resident_id": resident.id}, FIXED_NOW, staff_id=None)
    assert result.points == 20
    assert session.query(GreenAction).one().source == "worker"


@pytest.mark.pg_only
def test_twenty_concurrent_scans_credit_exactly_the_limit(session, engine):
    campaign, home = _setup(session, checkin_daily_limit=3)
    resident = make_resident(session, community=home)
    session.commit()
    scene, resident_id = f"campaign:{campaign.id}", resident.id
    make_session = sessionmaker(engine)
    barrier, codes = threading.Barrier(20), []

    def scan():
        with make_session() as own:
            barrier.wait()
            result = scan_scene(own, own.get(Resident, resident_id), scene, FIXED_NOW)
            own.commit()
            codes.append(result.code)

    threads = [threading.Thread(target=scan) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes).count("checked_in") == 3 and len(codes) == 20
    session.expire_all()
    assert session.query(CampaignCheckin).count() == 3
    assert session.query(Account).filter_by(resident_id=resident_id).one().balance == 60
