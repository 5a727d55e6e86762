"""What a QR code can be printed for, and which communities own the target.

A registry from target type to the kind of code and the model that proves the
target exists. The models belong to other areas (stations, campaigns) and are
looked up by name, so the QR service never depends on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import carbon_credit.models as models
from carbon_credit.errors import InvalidInput, NotFound

from .qrcodes import MAX_TEMPORARY_SECONDS, ensure_qrcode, latest_qrcode

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class QRTarget:
    kind: str  # permanent | temporary
    model_name: str
    label: str
    default_days: int | None = None


QR_TARGETS = {
    "station": QRTarget("permanent", "Station", "station"),
    "campaign": QRTarget("temporary", "Campaign", "campaign", default_days=30),
}


def target_spec(target_type: str) -> QRTarget:
    spec = QR_TARGETS.get(target_type)
    if spec is None:
        raise InvalidInput(errors={"target_type": [f"Use one of {sorted(QR_TARGETS)}."]})
    return spec


def scene_for(target_type: str, target_id: int) -> str:
    return f"{target_type}:{target_id}"


def target_communities(session, target_type: str, target_id: int) -> tuple[int, ...]:
    """The target's communities; NotFound when there is no such target."""
    spec = target_spec(target_type)
    target = session.get(getattr(models, spec.model_name), target_id)
    if target is None:
        raise NotFound(f"No {spec.label} has the id {target_id}.")
    if hasattr(target, "community_ids"):
        return tuple(target.community_ids)
    if getattr(target, "community_id", None) is not None:
        return (target.community_id,)
    return tuple(c.id for c in getattr(target, "communities", ()))


def check_access(session, target_type: str, target_id: int, community_ids: tuple[int, ...] | None) -> None:
    """Admins (``community_ids`` None) reach every target; a worker only their communities'."""
    owners = target_communities(session, target_type, target_id)
    if community_ids is None:
        return
    if not set(owners) & set(community_ids):  # outside the worker's communities reads as unknown
        raise NotFound(f"No {target_spec(target_type).label} has the id {target_id}.")


def kind_for(session, target_type: str, target_id: int) -> str:
    """The target's own choice (a campaign's ``checkin_qr``: temporary or permanent), else its type's."""
    spec = target_spec(target_type)
    target = session.get(getattr(models, spec.model_name), target_id)
    chosen = getattr(target, "checkin_qr", None)
    return chosen if chosen in ("temporary", "permanent") else spec.kind


def expire_seconds_for(spec: QRTarget, kind: str, days: int | None) -> int | None:
    if kind == "permanent":
        if days is not None:
            raise InvalidInput(errors={"days": [f"This {spec.label}'s code is permanent; leave days out."]})
        return None
    days = (spec.default_days or 30) if days is None else days
    if not 1 <= days <= MAX_TEMPORARY_SECONDS // DAY_SECONDS:
        raise InvalidInput(errors={"days": [f"A temporary code lives 1-{MAX_TEMPORARY_SECONDS // DAY_SECONDS} days."]})
    return days * DAY_SECONDS


@dataclass(frozen=True)
class QRRequest:
    scene: str
    kind: str
    expire_seconds: int | None


def resolve_qr_request(session, target_type: str, target_id: int, *, days: int | None = None,
                       community_ids: tuple[int, ...] | None = None) -> QRRequest:
    """Check the target exists and the caller may print its code; what to ask WeChat for."""
    spec = target_spec(target_type)
    check_access(session, target_type, target_id, community_ids)
    kind = kind_for(session, target_type, target_id)
    return QRRequest(scene_for(target_type, target_id), kind, expire_seconds_for(spec, kind, days))


def qrcode_for_request(session, client, request: QRRequest, now: datetime, *, staff_id: int | None = None):
    """A stored or new code for a resolved request: ``(code, created)``.

    Callers end the transaction that resolved the request first (the handlers
    commit): on SQLite a token refreshed meanwhile would leave it unable to write.
    """
    return ensure_qrcode(session, client, request.scene, request.kind, now, expire_seconds=request.expire_seconds,
                         created_by=staff_id)


def stored_qrcode_for_target(session, target_type: str, target_id: int, now: datetime, *,
                             community_ids: tuple[int, ...] | None = None):
    target_spec(target_type)
    check_access(session, target_type, target_id, community_ids)
    code = latest_qrcode(session, scene_for(target_type, target_id), now)
    if code is None:
        raise NotFound(f"No valid QR code is stored for {target_type} {target_id}; create one first.")
    return code
