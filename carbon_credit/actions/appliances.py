"""Residents' claims for grade-1 (一级能效) appliance purchases, backed by an invoice photo.

A claim is a pending ``appliance_purchase`` action plus a claim row whose
unique keys stop double crediting (see models/appliances.py): the same invoice
number across all residents, and a second appliance of one category in one
Shanghai year. Photo, claim and action are written in one savepoint, so a
refused claim leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.errors import Conflict, DomainError, InvalidInput
from carbon_credit.models.appliances import APPLIANCE_CATEGORIES, ApplianceClaim, EvidencePhoto
from carbon_credit.timeutil import local_date, start_of_local_day

MAX_PHOTO_BYTES = 5 * 1024 * 1024
INVOICE_MAX_AGE_DAYS = 180
MAX_LABEL_KWH = Decimal("100000")
# Magic bytes decide the type; the client's declared content type is not trusted.
PHOTO_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_INVOICE_NOISE = str.maketrans("", "", " -_/")


class PhotoTooLarge(DomainError):
    code = "photo_too_large"
    status = 413
    message = "The invoice photo is larger than 5 MB."


@dataclass
class ApplianceSubmission:
    category: str
    energy_grade: int
    brand: str
    model: str
    label_kwh: Decimal
    invoice_no: str
    invoice_date: date
    photo: bytes


def photo_type(data: bytes) -> str:
    """image/jpeg or image/png from the file's first bytes; anything else is refused."""
    if not data:
        raise InvalidInput("Attach a photo of the invoice.", code="photo_required", errors={"photo": ["required"]})
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge()
    for magic, content_type in PHOTO_SIGNATURES:
        if data.startswith(magic):
            return content_type
    raise InvalidInput("The invoice photo must be a JPEG or PNG image.", code="unsupported_photo_type",
                       errors={"photo": ["JPEG or PNG"]})


def normalise_invoice_no(value) -> str:
    """Full-width to half-width, separators dropped, upper case: how one invoice is recognised."""
    key = unicodedata.normalize("NFKC", str(value or "")).translate(_INVOICE_NOISE).upper()
    if not (4 <= len(key) <= 40 and key.isascii() and key.isalnum()):
        raise InvalidInput("An invoice number has 4 to 40 letters and digits.", code="invalid_invoice_no",
                           errors={"invoice_no": ["4 to 40 letters and digits"]})
    return key


def _check(sub: ApplianceSubmission, now: datetime) -> None:
    errors = {}
    if sub.category not in APPLIANCE_CATEGORIES:
        errors["category"] = [f"one of {list(APPLIANCE_CATEGORIES)}"]
    for name in ("brand", "model"):
        if not (0 < len(str(getattr(sub, name) or "").strip()) <= 64):
            errors[name] = ["1 to 64 characters"]
    try:
        label = Decimal(str(sub.label_kwh))
        if not (label.is_finite() and 0 < label <= MAX_LABEL_KWH):
            errors["label_kwh"] = [f"more than 0 and at most {MAX_LABEL_KWH}"]
    except (InvalidOperation, ValueError):
        errors["label_kwh"] = ["must be a number"]
    today = local_date(now)
    if sub.invoice_date > today:
        errors["invoice_date"] = ["lies in the future"]
    elif sub.invoice_date < today - timedelta(days=INVOICE_MAX_AGE_DAYS):
        errors["invoice_date"] = [f"older than {INVOICE_MAX_AGE_DAYS} days"]
    if errors:
        raise InvalidInput(errors=errors)
    if sub.energy_grade != 1:
        raise InvalidInput("Only grade-1 (一级能效) appliances earn points.", code="not_grade_1",
                           errors={"energy_grade": ["must be 1"]})


def purchase_time(invoice_date: date, now: datetime) -> datetime:
    """Noon (Shanghai) of the invoice date, or now when that is still ahead: the time rules are chosen by."""
    noon = start_of_local_day(invoice_date) + timedelta(hours=12)
    return min(noon, now)


def _refusal(session, invoice_key: str) -> Conflict:
    """Which unique key refused the claim (read after the savepoint rolled back)."""
    taken = session.scalar(select(ApplianceClaim.id).where(ApplianceClaim.invoice_key == invoice_key))
    if taken is not None:
        return Conflict("This invoice has already been claimed.", code="invoice_already_claimed")
    return Conflict("You already claimed an appliance of this category this year.",
                    code="appliance_category_claimed")


def submit_appliance_claim(session, resident_id: int, sub: ApplianceSubmission, now: datetime) -> ApplianceClaim:
    """Store the photo and a pending claim; it earns nothing until a worker or admin approves it."""
    _check(sub, now)
    content_type = photo_type(sub.photo)
    invoice_key = normalise_invoice_no(sub.invoice_no)
    year = sub.invoice_date.year
    label = Decimal(str(sub.label_kwh))
    try:
        with session.begin_nested():
            photo = EvidencePhoto(resident_id=resident_id, content_type=content_type, size=len(sub.photo),
                                  sha256=hashlib.sha256(sub.photo).hexdigest(), data=sub.photo, created_at=now)
            session.add(photo)
            session.flush()
            claim = ApplianceClaim(resident_id=resident_id, category=sub.category, year=year,
                                   invoice_no=sub.invoice_no.strip(), invoice_date=sub.invoice_date,
                                   invoice_key=invoice_key, slot_key=f"{resident_id}:{sub.category}:{year}",
                                   photo_id=photo.id, status="pending", created_at=now, updated_at=now)
            session.add(claim)
            session.flush()
            attributes = {"category": sub.category, "label_kwh": str(label), "brand": sub.brand.strip(),
                          "model": sub.model.strip(), "invoice_no": invoice_key,
                          "invoice_date": sub.invoice_date.isoformat(), "photo_id": photo.id, "claim_id": claim.id,
                          "energy_grade": sub.energy_grade}
            result = record_action(session, ActionInput(
                resident_id=resident_id, action_type="appliance_purchase", quantity=Decimal(1), unit="item",
                occurred_at=purchase_time(sub.invoice_date, now), source="self_report", evidence="self",
                idem_scope="appliance_claim", external_id=str(claim.id), attributes=attributes), now)
            claim.action_id = result.action.id
            session.flush()
    except IntegrityError:
        raise _refusal(session, invoice_key) from None
    return claim


def claims_of(session, resident_id: int) -> list[ApplianceClaim]:
    return list(session.execute(select(ApplianceClaim).where(ApplianceClaim.resident_id == resident_id)
                                .order_by(ApplianceClaim.id.desc())).scalars())


def settle_claim(session, action_id: int, approved: bool, now: datetime) -> ApplianceClaim | None:
    """After a review: a rejected claim frees its invoice and its category-year slot."""
    claim = session.scalar(select(ApplianceClaim).where(ApplianceClaim.action_id == action_id))
    if claim is None:
        return None
    claim.status = "approved" if approved else "rejected"
    if not approved:
        claim.invoice_key = claim.slot_key = None
    claim.updated_at = now
    session.flush()
    return claim

