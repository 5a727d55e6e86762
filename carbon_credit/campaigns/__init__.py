"""Green-community campaigns: bonus rules, enrolment, check-ins, state changes and publicity.

One module per concern; import from here. The bonuses enter credits through
the credit pipeline (carbon_credit.pipeline), not by importing this package.
Importing it registers the ``campaign`` QR scene handler (carbon_credit.checkins).
"""
from .bonuses import BONUS_STATUSES, BatchCampaigns
from .checkins import check_in, check_in_on_site, find_resident_on_site, scan_campaign
from .enrolment import claim_first_bonus, enrol_resident, ensure_enrolment
from .publicity import run_campaign_publicity
from .queries import VISIBLE_STATUSES, get_campaign, open_campaigns_for
from .service import (advance_campaigns, cancel_campaign, check_access, check_readable, create_campaign,
                      end_campaign, list_campaigns,
                      publish_campaign, update_campaign)
from .validation import CHECKIN_TYPE

__all__ = [
    "BONUS_STATUSES", "BatchCampaigns", "CHECKIN_TYPE", "VISIBLE_STATUSES", "advance_campaigns", "cancel_campaign",
    "check_access",
    "check_readable",
    "check_in", "check_in_on_site", "claim_first_bonus", "create_campaign", "end_campaign", "enrol_resident", "ensure_enrolment",
    "find_resident_on_site", "get_campaign", "list_campaigns", "open_campaigns_for",
    "publish_campaign", "run_campaign_publicity", "scan_campaign", "update_campaign",
]
