"""Builders shared by the campaign, figures and leaderboard tests."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.models import Campaign
from carbon_credit.rules.install import install_default_rule_set

from .factories import FIXED_NOW

RULES_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ext = itertools.count(1)


def install_rules(session, now=FIXED_NOW):
    return install_default_rule_set(session, now, RULES_FROM)


def weigh_in(session, resident, kg, at, *, action_type="recyclables_dropoff", now=None, unit="kg"):
    """A station device's weigh-in, recorded the way the partner feed records it."""
    inp = ActionInput(resident_id=resident.id, action_type=action_type, quantity=Decimal(str(kg)), unit=unit,
                      occurred_at=at, source="station_device", evidence="partner", idem_scope="station:test",
                      external_id=f"w-{next(_ext)}")
    return record_action(session, inp, now or at + timedelta(minutes=1))


def plain_campaign(session, communities, *, status="running", active_from=None, days=7, now=FIXED_NOW, **kw):
    """A campaign row written directly, for tests of readers that do not care how it was made."""
    start = active_from or now - timedelta(days=1)
    values = dict(title="垃圾分类周", description="一起分类", cover_text="分类投放得双倍积分", status=status,
                  visible_from=start - timedelta(days=3), visible_until=start + timedelta(days=days + 3),
                  active_from=start, active_until=start + timedelta(days=days), action_types=[],
                  multipliers={}, created_at=now, updated_at=now)
    values.update(kw)
    campaign = Campaign(**values)
    campaign.communities = list(communities)
    session.add(campaign)
    session.flush()
    return campaign


def campaign_values(communities, *, start=None, days=7, **kw):
    """Settings for create_campaign: a week-long 垃圾分类周 doubling recyclables."""
    start = start or FIXED_NOW - timedelta(days=1)
    values = dict(title="垃圾分类周", description="分类投放可回收物, 积分翻倍", cover_text="可回收物积分×2",
                  community_ids=[c.id for c in communities], visible_from=start - timedelta(days=2),
                  visible_until=start + timedelta(days=days + 2), active_from=start,
                  active_until=start + timedelta(days=days), multipliers={"recyclables_dropoff": "2"})
    values.update(kw)
    return values


def running_campaign(session, communities, now=FIXED_NOW, **kw):
    """A campaign made and published through the services, running at ``now``."""
    from carbon_credit.campaigns import create_campaign, publish_campaign

    campaign = create_campaign(session, campaign_values(communities, **kw), now)
    return publish_campaign(session, campaign.id, now)
