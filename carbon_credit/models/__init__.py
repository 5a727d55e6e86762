"""All models, imported here so the metadata is complete whenever the package is."""
from .actions import ACTION_STATUSES, EVIDENCE_KINDS, Credit, GreenAction
from .appliances import ApplianceClaim, EvidencePhoto  # noqa: F401
from .audit import AuditLog
from .bot import InboundMessage
from .jobs import JOB_RUN_STATUSES, DailyStat, JobLock, JobRun
from .rewards import REDEMPTION_STATUSES, REWARD_KINDS, Redemption, Reward, reward_communities  # noqa: F401
from .budgets import ALL_TYPES, BUDGET_MODES, Budget, BudgetCounter  # noqa: F401
from .campaigns import Campaign, CampaignCheckin, CampaignEnrolment, CampaignPublicity, campaign_communities  # noqa: F401
from .cards import IngestRun, TransitCard, UnmatchedTrip
from .ledger import ENTRY_KINDS, LedgerEntry
from .notifications import NOTIFICATION_STATUSES, Notification
from .org import Community, Staff, Street, staff_communities
from .partners import Partner, PartnerNonce  # noqa: F401
from .residents import Account, Resident
from .rules import ActionType, Rule, RuleSet
from .wechat import MassSend, MassSendBatch, MassSendQuota, MassSendRecipient, QRCode, TemplateRefusal, TemplateSend, WeChatKV  # noqa: F401
from .stations import Station, StationVisit  # noqa: F401

__all__ = [
    "ACTION_STATUSES", "ENTRY_KINDS", "EVIDENCE_KINDS", "Account", "ActionType", "AuditLog",
    "Community", "Credit", "DailyStat", "JOB_RUN_STATUSES", "JobLock", "JobRun", "GreenAction", "LedgerEntry", "NOTIFICATION_STATUSES", "Notification", "Resident", "Rule", "RuleSet", "Staff",
    "Street", "staff_communities",
]
