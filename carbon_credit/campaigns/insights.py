"""What staff need to judge a campaign at a glance: how many joined and checked in, and what its
bonuses mean for a typical action under the rules in force.

The worked example runs the real rules engine on one typical action of each
type the campaign multiplies, with nothing used of any cap yet, once without
and once with the campaign's multiplier: the numbers a worker can quote to a
resident ("2 kg of recyclables earn 24 points, 48 during the campaign").
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Iterable

from sqlalchemy import func, select

from carbon_credit.errors import DomainError
from carbon_credit.models import ActionType, Campaign, CampaignCheckin, CampaignEnrolment
from carbon_credit.rules import ActionFacts, Adjustment, Usage, evaluate
from carbon_credit.rules.versions import compiled_in_force
from carbon_credit.timeutil import local_date

# A typical single action per type (quantity, unit); other types use one of their default unit.
TYPICAL = {
    "metro_ride": ("10", "km"), "bus_ride": ("8", "km"), "bike_ride": ("3", "km"), "walk_steps": ("8000", "step"),
    "recyclables_dropoff": ("2", "kg"), "textiles_dropoff": ("3", "kg"), "kitchen_waste_sorting": ("1", "drop"),
    "electricity_saved": ("10", "kWh"), "appliance_purchase": ("1", "item"),
}


def participation_counts(session, campaign_ids: Iterable[int]) -> dict[int, dict]:
    """Enrolments and check-ins per campaign: {id: {"enrolled", "checkins"}} (zero when none)."""
    ids = list(campaign_ids)
    counts = {cid: {"enrolled": 0, "checkins": 0} for cid in ids}
    if not ids:
        return counts
    for cid, n in session.execute(select(CampaignEnrolment.campaign_id, func.count()).where(
            CampaignEnrolment.campaign_id.in_(ids)).group_by(CampaignEnrolment.campaign_id)):
        counts[cid]["enrolled"] = int(n)
    for cid, n in session.execute(select(CampaignCheckin.campaign_id, func.count()).where(
            CampaignCheckin.campaign_id.in_(ids)).group_by(CampaignCheckin.campaign_id)):
        counts[cid]["checkins"] = int(n)
    return counts


def _no_usage(cap, day, tag) -> Usage:
    return Usage()


def bonus_examples(session, campaign: Campaign, now: datetime) -> list[dict]:
    """One worked example per multiplied action type, under the rules in force when the campaign runs."""
    if not campaign.multipliers:
        return []
    at = max(campaign.active_from, now) if campaign.active_until > now else campaign.active_from
    try:
        rules = compiled_in_force(session, at)
    except DomainError:
        return []
    types = {t.code: t for t in session.scalars(select(ActionType).where(
        ActionType.code.in_(list(campaign.multipliers))))}
    examples = []
    for code, value in sorted(campaign.multipliers.items()):
        kind = types.get(code)
        if kind is None or code not in rules.rules:
            continue
        quantity, unit = TYPICAL.get(code, ("1", kind.unit))
        evidence = "worker" if kind.needs_review else kind.evidence
        facts = ActionFacts(resident_id=0, action_type=code, quantity=Decimal(quantity), unit=unit,
                            local_day=local_date(at), evidence=evidence)
        multiplier = Decimal(str(value))
        plain = evaluate(rules, facts, _no_usage)
        boosted = evaluate(rules, facts, _no_usage, [Adjustment("multiplier", multiplier, campaign.title)])
        examples.append({"action_type": code, "name": kind.name, "quantity": Decimal(quantity), "unit": unit,
                         "multiplier": multiplier, "grams": plain.grams, "points": plain.points,
                         "campaign_points": boosted.points})
    return examples


__all__ = ["TYPICAL", "bonus_examples", "participation_counts"]
