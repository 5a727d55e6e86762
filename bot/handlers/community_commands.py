"""活动 and 排行: what is on in the resident's community, and where they stand this month."""
from __future__ import annotations

from datetime import timedelta

from carbon_credit.campaigns import open_campaigns_for
from carbon_credit.reporting.leaderboards import resident_rank
from carbon_credit.timeutil import local_date

from .. import texts
from .registry import command

MAX_CAMPAIGNS = 5
_EPSILON = timedelta(microseconds=1)  # active_until is an exclusive bound


def campaigns(push, _argument: str) -> str:
    resident = push.resident()
    if resident.community_id is None:
        return texts.NO_COMMUNITY
    found = open_campaigns_for(push.session, resident, push.now)
    if not found:
        return texts.CAMPAIGNS_EMPTY
    lines = [texts.CAMPAIGNS_HEAD] + [_campaign_line(c) for c in found[:MAX_CAMPAIGNS]]
    if len(found) > MAX_CAMPAIGNS:
        lines.append(texts.CAMPAIGNS_MORE.format(count=len(found) - MAX_CAMPAIGNS))
    return "\n".join(lines)


def _campaign_line(campaign) -> str:
    if campaign.active_until is None:
        return texts.CAMPAIGN_LINE_OPEN_END.format(title=campaign.title)
    last = local_date(campaign.active_until - _EPSILON)
    until = texts.DAY_FORMAT.format(month=last.month, day=last.day)
    return texts.CAMPAIGN_LINE.format(title=campaign.title, until=until)


def rank(push, _argument: str) -> str:
    resident = push.resident()
    if resident.community_id is None:
        return texts.NO_COMMUNITY
    info = resident_rank(push.session, resident, push.now)
    if info.rank is None:
        return texts.RANK_NONE
    return texts.RANK.format(community=resident.community.name, rank=info.rank, total=info.participants,
                             points=info.points)


COMMANDS = (command("campaigns", campaigns, click="CAMPAIGNS"), command("rank", rank, click="RANK"))
