"""Writing the audit log: one helper so every service records the same shape."""
from __future__ import annotations

from datetime import datetime

from carbon_credit.models import AuditLog


def audit(session, now: datetime, verb: str, target_type: str, target_id, *, actor_kind: str = "staff",
          actor_id=None, **detail) -> AuditLog:
    entry = AuditLog(actor_kind=actor_kind, actor_id=actor_id, verb=verb, target_type=target_type,
                     target_id=None if target_id is None else str(target_id), detail=detail, created_at=now)
    session.add(entry)
    return entry
