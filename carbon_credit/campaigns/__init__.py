"""Green-community campaigns: bonus rules, enrolment, check-ins, state changes and publicity.

One module per concern; import from here. Importing this package registers the
campaign bonuses with the action services (carbon_credit.actions seams) and the
``campaign`` QR scene handler (carbon_credit.checkins).
"""
from ..actions import ADJUSTMENT_PROVIDERS, BATCH_ADJUSTMENT_PREPARERS, OUTCOME_HOOKS
from .bonuses import BONUS_STATUSES, campaign_adjustments, prepare_batch_adjustments, release_unused_bonus
from .checkins import check_in, check_in_on_site, find_resident_on_site, scan_campaign
from .enrolment import claim_first_bonus, enrol_resident, ensure_enrolment
from .publicity import run_campaign_publicity
from .queries import VISIBLE_STATUSES, get_campaign, open_campaigns_for
from .service import (advance_campaigns, cancel_campaign, check_access, check_readable, create_campaign,
                      list_campaigns,
                      publish_campaign, update_campaign)
from .validation import CHECKIN_TYPE


def _register(seam: list, fn) -> None:
    if fn not in seam:
        seam.append(fn)


_register(ADJUSTMENT_PROVIDERS, campaign_adjustments)
_register(OUTCOME_HOOKS, release_unused_bonus)
_register(BATCH_ADJUSTMENT_PREPARERS, prepare_batch_adjustments)

__all__ = [
    "BONUS_STATUSES", "CHECKIN_TYPE", "VISIBLE_STATUSES", "advance_campaigns", "cancel_campaign", "check_access",
    "check_readable",
    "check_in", "check_in_on_site", "claim_first_bonus", "create_campaign", "enrol_resident", "ensure_enrolment",
    "find_resident_on_site", "get_campaign", "list_campaigns", "open_campaigns_for", "prepare_batch_adjustments",
    "publish_campaign", "run_campaign_publicity", "scan_campaign", "update_campaign",
]
