"""Green-community campaigns: bonus rules, enrolment, state changes and publicity.

One module per concern; import from here. The bonuses enter credits through
the credit pipeline (carbon_credit.pipeline). Checking a resident in at a
campaign records an action, so it lives with the other ways actions come in
(carbon_credit.actions.campaign_checkins).
"""
from carbon_credit.campaigns.bonuses import BONUS_STATUSES, BatchCampaigns
from carbon_credit.campaigns.enrolment import claim_first_bonus, enrol_resident, ensure_enrolment
from carbon_credit.campaigns.publicity import run_campaign_publicity
from carbon_credit.campaigns.queries import VISIBLE_STATUSES, get_campaign, open_campaigns_for
from carbon_credit.campaigns.service import (
    advance_campaigns,
    cancel_campaign,
    check_access,
    check_readable,
    create_campaign,
    end_campaign,
    list_campaigns,
    publish_campaign,
    update_campaign,
)
from carbon_credit.campaigns.validation import CHECKIN_TYPE

__all__ = [
    "BONUS_STATUSES", "BatchCampaigns", "CHECKIN_TYPE", "VISIBLE_STATUSES", "advance_campaigns", "cancel_campaign",
    "check_access",
    "check_readable",
    "claim_first_bonus", "create_campaign", "end_campaign", "enrol_resident", "ensure_enrolment",
    "get_campaign", "list_campaigns", "open_campaigns_for",
    "publish_campaign", "run_campaign_publicity", "update_campaign",
]
