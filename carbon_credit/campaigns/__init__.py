"""Green-community campaigns: bonus rules, enrolment, check-ins, state changes and publicity.

One module per concern; import from here.
"""
from .queries import VISIBLE_STATUSES, get_campaign, open_campaigns_for

__all__ = ["VISIBLE_STATUSES", "get_campaign", "open_campaigns_for"]
