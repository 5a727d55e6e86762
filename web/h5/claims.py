"""家电: a grade-1 appliance claim from the phone (photo of label and invoice), its review status and reason."""
from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from carbon_credit.actions.appliances import MAX_PHOTO_BYTES, ApplianceSubmission, submit_appliance_claim
from carbon_credit.errors import DomainError
from carbon_credit.reporting.resident_pages import appliance_claims
from carbon_credit.timeutil import local_date, utcnow

from .. import texts as console_texts
from ..database import db
from . import h5
from .texts import CLAIM_STATUS, FIELD_HINTS, error_text

# Room for the form fields around a photo a little over the limit (base64 from the JS-SDK is 4/3 larger),
# so the page can say why it was refused.
MAX_FORM_BYTES = MAX_PHOTO_BYTES * 4 // 3 + 2 * 1024 * 1024
FIELDS = ("category", "brand", "model", "label_kwh", "invoice_no", "invoice_date")


def _form_page(values=None, errors=None, status=200):
    return render_template("h5/appliance_form.html", values=values or {}, errors=errors or {},
                           categories=console_texts.APPLIANCE, today=local_date(utcnow()).isoformat(),
                           max_mb=MAX_PHOTO_BYTES // (1024 * 1024)), status


def _parse(values: dict, errors: dict):
    try:
        label = Decimal(values.get("label_kwh") or "")
    except InvalidOperation:
        errors["label_kwh"], label = FIELD_HINTS["label_kwh"], Decimal(0)
    try:
        day = date.fromisoformat(values.get("invoice_date") or "")
    except ValueError:
        errors["invoice_date"], day = FIELD_HINTS["invoice_date"], None
    return label, day


def _from_wechat(data: str) -> bytes:
    """The photo picked with the JS-SDK (chooseImage + getLocalImgData), sent as base64; junk decodes to b"" """
    try:
        return base64.b64decode(data, validate=False)[:MAX_PHOTO_BYTES + 1]
    except (binascii.Error, ValueError):
        return b""


@h5.route("/appliances", methods=["GET", "POST"])
def appliances():
    if request.method == "GET":
        return render_template("h5/appliances.html", claims=appliance_claims(db.session, g.resident.id),
                               categories=console_texts.APPLIANCE, statuses=CLAIM_STATUS)
    try:
        values = {name: request.form.get(name, "").strip() for name in FIELDS}
        upload = request.files.get("photo")
        photo = upload.stream.read(MAX_PHOTO_BYTES + 1) if upload else b""
        if not photo and request.form.get("photo_data"):
            photo = _from_wechat(request.form["photo_data"])
    except RequestEntityTooLarge:
        return _form_page(errors={"photo": error_text("photo_too_large")}, status=413)
    errors: dict = {}
    label, day = _parse(values, errors)
    if errors:
        return _form_page(values, errors, 422)
    try:
        submit_appliance_claim(db.session, g.resident.id, ApplianceSubmission(
            category=values["category"], energy_grade=1, brand=values["brand"], model=values["model"],
            label_kwh=label, invoice_no=values["invoice_no"], invoice_date=day, photo=photo), utcnow())
    except DomainError as exc:
        db.session.rollback()
        fields = {name: FIELD_HINTS.get(name, "请检查这一项") for name in (exc.errors or {})}
        if not fields:
            fields = {"photo" if "photo" in exc.code else "form": error_text(exc.code)}
        elif exc.code in ("photo_required", "unsupported_photo_type"):
            fields = {"photo": error_text(exc.code)}
        return _form_page(values, fields, exc.status)
    db.session.commit()
    return redirect(url_for("h5.appliances", submitted=1))


appliances.max_body = MAX_FORM_BYTES  # the photo upload's own body limit (see _load_resident)


@h5.get("/appliances/new")
def new_appliance():
    return _form_page()


@h5.get("/appliances/<int:claim_id>")
def appliance(claim_id: int):
    found = appliance_claims(db.session, g.resident.id, claim_id)
    if not found:
        abort(404)
    claim, note = found[0]
    return render_template("h5/appliance.html", claim=claim, note=note, categories=console_texts.APPLIANCE,
                           statuses=CLAIM_STATUS)
