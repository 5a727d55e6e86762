"""现场称重: a worker weighs a resident's drop-off at a station and records it for them."""
from __future__ import annotations

import secrets

from flask import current_app, flash, g, redirect, render_template, request, url_for

from carbon_credit.actions.intake import IdentityKeys
from carbon_credit.actions.weighins import WEIGH_IN_CATEGORIES, record_worker_weigh_in
from carbon_credit.errors import DomainError
from carbon_credit.org.stations import list_stations
from carbon_credit.residents.onsite import community_label, find_residents_by_name_and_tail
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import WeighInForm
from . import console


def _keys() -> IdentityKeys:
    return IdentityKeys(card_key=current_app.config.get("CARD_HASH_KEY"),
                        phone_key=current_app.config.get("PHONE_HASH_KEY"))


def _render(form, stations, matches=(), status=200):
    return render_template("console/weigh_in.html", form=form, stations=stations, matches=matches,
                           labels={r.id: community_label(db.session, r.community_id) for r in matches},
                           categories={k: texts.WEIGH_CATEGORY.get(k, k) for k in WEIGH_IN_CATEGORIES}), status


def _resident_ref(form):
    """{"resident_id"} or {"card_no"}; or the list of matches when name and tail name several (or none)."""
    if form.resident_id.data:
        return {"resident_id": form.resident_id.data}, None
    if form.card_no.data:
        return {"card_no": form.card_no.data.strip()}, None
    matches = find_residents_by_name_and_tail(db.session, g.scope, form.name.data, form.phone_tail.data)
    if len(matches) == 1:
        return {"resident_id": matches[0].id}, None
    return None, matches


@console.route("/weigh-in", methods=["GET", "POST"])
def weigh_in():
    stations = list_stations(db.session, scope=g.scope, active=True)
    form = WeighInForm()
    if request.method == "GET":
        form.station.data = request.args.get("station", "")
        form.token.data = secrets.token_urlsafe(16)  # one form, one weigh-in: a second submit finds the first
    if not form.validate_on_submit():
        return _render(form, stations, status=422 if form.errors else 200)
    try:
        ref, matches = _resident_ref(form)
        if ref is None:
            if not matches:
                form.name.errors.append(texts.error_text("resident_not_found"))
                return _render(form, stations, status=404)
            return _render(form, stations, matches)
        station_id = int(form.station.data) if form.station.data.isdigit() else -1
        result = record_worker_weigh_in(
            db.session, station_id, {"resident": ref, "category": form.category.data, "weight_kg": form.weight_kg.data},
            utcnow(), staff_id=g.staff.id, scope=g.scope, keys=_keys(), idempotency_key=form.token.data)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(texts.error_text(error.code))
        return _render(form, stations, status=getattr(error, "status", 400))
    db.session.commit()
    credit = result.credit
    points = credit.points if credit is not None and credit.status == "credited" else 0
    category = texts.WEIGH_CATEGORY.get(form.category.data, form.category.data)
    if result.created:
        flash(f"已记录：{category} {form.weight_kg.data} 千克，居民获得 {points} 积分。")
    else:
        flash("这次称重已经记录过了，没有重复计分。")
    return redirect(url_for("console.weigh_in", station=form.station.data))
