"""All models, imported here so the metadata is complete whenever the package is.

Every name below is re-exported: code imports models from ``carbon_credit.models``.
"""
# ruff: noqa: F401
from carbon_credit.models.actions import (
    ACTION_STATUSES,
    EVIDENCE_KINDS,
    Credit,
    GreenAction,
    TraceForm,
    credit_days,
    fill_trace_form,
    idem_digest,
    idem_key_is,
    idem_keys_in,
)
from carbon_credit.models.appliances import ApplianceClaim, EvidencePhoto
from carbon_credit.models.audit import AuditLog
from carbon_credit.models.bot import InboundMessage
from carbon_credit.models.budgets import ALL_TYPES, BUDGET_MODES, Budget, BudgetCounter
from carbon_credit.models.campaigns import (
    Campaign,
    CampaignCheckin,
    CampaignEnrolment,
    CampaignPublicity,
    campaign_communities,
)
from carbon_credit.models.cards import IngestRun, TransitCard, UnmatchedTrip
from carbon_credit.models.jobs import JOB_RUN_STATUSES, DailyStat, JobLock, JobRun
from carbon_credit.models.ledger import ENTRY_KINDS, LedgerEntry
from carbon_credit.models.notifications import NOTIFICATION_STATUSES, Notification
from carbon_credit.models.org import Community, Staff, Street, staff_communities
from carbon_credit.models.partners import Partner, PartnerNonce
from carbon_credit.models.residents import Account, Resident
from carbon_credit.models.rewards import (
    REDEMPTION_STATUSES,
    REWARD_KINDS,
    Redemption,
    Reward,
    reward_communities,
)
from carbon_credit.models.rules import ActionType, Rule, RuleSet
from carbon_credit.models.security import SignInCounter
from carbon_credit.models.sessions import StaffSession
from carbon_credit.models.stations import Station, StationVisit
from carbon_credit.models.wechat import (
    MassSend,
    MassSendBatch,
    MassSendQuota,
    MassSendRecipient,
    MenuPublication,
    QRCode,
    TemplateRefusal,
    TemplateSend,
    WeChatKV,
)
