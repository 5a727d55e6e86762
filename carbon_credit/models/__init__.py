"""All models, imported here so the metadata is complete whenever the package is."""
from .actions import ACTION_STATUSES, EVIDENCE_KINDS, Credit, GreenAction
from .appliances import ApplianceClaim, EvidencePhoto  # noqa: F401
from .audit import AuditLog
from .cards import IngestRun, TransitCard, UnmatchedTrip
from .ledger import ENTRY_KINDS, LedgerEntry
from .notifications import NOTIFICATION_STATUSES, Notification
from .org import Community, Staff, Street, staff_communities
from .partners import Partner, PartnerNonce  # noqa: F401
from .residents import Account, Resident
from .rules import ActionType, Rule, RuleSet
from .stations import Station, StationVisit  # noqa: F401

__all__ = [
    "ACTION_STATUSES", "ENTRY_KINDS", "EVIDENCE_KINDS", "Account", "ActionType", "AuditLog",
    "Community", "Credit", "GreenAction", "LedgerEntry", "NOTIFICATION_STATUSES", "Notification", "Resident", "Rule", "RuleSet", "Staff",
    "Street", "staff_communities",
]
