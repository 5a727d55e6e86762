"""Finding a resident on site by name and phone tail, and the figures a campaign page shows."""
from __future__ import annotations

import pytest

from carbon_credit.campaigns.insights import bonus_examples, participation_counts
from carbon_credit.errors import InvalidInput
from carbon_credit.residents.onsite import find_residents_by_name_and_tail, resident_in_scope

from .campaign_support import plain_campaign
from .domain_helpers import install_rules
from .factories import make_community, make_resident


def _resident(session, community, name, tail, status="active"):
    resident = make_resident(session, community=community, display_name=name)
    resident.phone_tail, resident.status = tail, status
    session.flush()
    return resident


def test_name_and_tail_find_only_active_residents_of_the_workers_communities(session):
    mine, other = make_community(session), make_community(session)
    found = _resident(session, mine, "王秀英", "1234")
    _resident(session, other, "王秀英", "1234")
    _resident(session, mine, "王秀英", "1234", status="blocked")
    _resident(session, mine, "王秀兰", "1234")
    assert find_residents_by_name_and_tail(session, (mine.id,), " 王秀英 ", "1234") == [found]
    assert len(find_residents_by_name_and_tail(session, None, "王秀英", "1234")) == 2
    assert find_residents_by_name_and_tail(session, (mine.id,), "王秀英", "4321") == []


@pytest.mark.parametrize("name, tail", [("", "1234"), ("王秀英", "12a4"), ("王秀英", "123")])
def test_a_lookup_needs_a_name_and_four_digits(session, name, tail):
    with pytest.raises(InvalidInput):
        find_residents_by_name_and_tail(session, None, name, tail)


def test_a_resident_outside_the_scope_is_not_found_by_id(session):
    mine, other = make_community(session), make_community(session)
    theirs = _resident(session, other, "李明", "5678")
    assert resident_in_scope(session, (mine.id,), theirs.id) is None
    assert resident_in_scope(session, None, theirs.id) is theirs


def test_the_worked_example_doubles_a_typical_action_under_the_rules_in_force(session):
    install_rules(session)
    campaign = plain_campaign(session, [make_community(session)], multipliers={"metro_ride": "2"})
    (example,) = bonus_examples(session, campaign, campaign.active_from)
    assert (example["quantity"], example["unit"]) == (10, "km")
    assert example["points"] > 0 and example["campaign_points"] == 2 * example["points"]


def test_counts_are_zero_for_a_campaign_nobody_joined(session):
    campaign = plain_campaign(session, [make_community(session)])
    assert participation_counts(session, [campaign.id]) == {campaign.id: {"enrolled": 0, "checkins": 0}}
