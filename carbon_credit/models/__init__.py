"""All models, imported here so the metadata is complete whenever the package is.

Every name below is re-exported: code imports models from ``carbon_credit.models``.
"""
# ruff: noqa: F401
from .actions import ACTION_STATUSES, EVIDENCE_KINDS, Credit, GreenAction, TraceForm, fill_trace_form
from .appliances import ApplianceClaim, EvidencePhoto
from .audit import AuditLog
from .bot import InboundMessage
from .budgets import ALL_TYPES, BUDGET_MODES, Budget, BudgetCounter
from .campaigns import Campaign, CampaignCheckin, CampaignEnrolment, CampaignPublicity, campaign_communities
from .cards import IngestRun, TransitCard, UnmatchedTrip
from .jobs import JOB_RUN_STATUSES, DailyStat, JobLock, JobRun
from .ledger import ENTRY_KINDS, LedgerEntry
from .notifications import NOTIFICATION_STATUSES, Notification
from .org import Community, Staff, Street, staff_communities
from .partners import Partner, PartnerNonce
from .residents import Account, Resident
from .rewards import REDEMPTION_STATUSES, REWARD_KINDS, Redemption, Reward, reward_communities
from .rules import ActionType, Rule, RuleSet
from .security import SignInCounter
from .sessions import StaffSession
from .stations import Station, StationVisit
from .wechat import (MassSend, MassSendBatch, MassSendQuota, MassSendRecipient, MenuPublication, QRCode,
                     TemplateRefusal, TemplateSend, WeChatKV)
