"""合作方 (admins): register a partner, change what it may send, rotate its key. A secret is shown once,
on the page that answers the POST, and is never put in the session or a later page."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from carbon_credit.actions.types import list_action_types
from carbon_credit.errors import DomainError
from carbon_credit.models.partners import PARTNER_KINDS
from carbon_credit.org.stations import list_stations
from carbon_credit.partners.keys import (
    create_partner,
    get_partner,
    list_partners,
    partner_station_ids,
    rotate_partner_key,
    update_partner,
)
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import ActionForm, PartnerForm
from . import console
from .people import refuse


def _form(partner=None, formdata=True):
    if partner is not None and not formdata:
        form = PartnerForm(formdata=None, obj=partner, station_ids=partner_station_ids(db.session, partner.id))
    else:
        form = PartnerForm() if formdata else PartnerForm(formdata=None)
    form.kind.choices = [(k, texts.PARTNER_KIND.get(k, k)) for k in PARTNER_KINDS]
    form.action_types.choices = [(t.code, t.name) for t in list_action_types(db.session) if t.active]
    form.station_ids.choices = [(s.id, f"{s.community.name} · {s.name}") for s in list_stations(db.session)]
    return form


def _values(form) -> dict:
    return {"name": form.name.data.strip(), "kind": form.kind.data, "action_types": list(form.action_types.data),
            "station_ids": list(form.station_ids.data or [])}


def _list(form=None, issued=None, status=200):
    partners = list_partners(db.session)
    stations = {s.id: s for s in list_stations(db.session)}
    return render_template("console/partners.html", partners=partners, form=form or _form(formdata=False),
                           issued=issued, action=ActionForm(), stations=stations,
                           station_ids={p.id: partner_station_ids(db.session, p.id) for p in partners},
                           types={t.code: t.name for t in list_action_types(db.session)}), status


def _cipher():
    """The cipher of partner secrets, as the host keeps it (the same key the API's partner sign-in uses)."""
    return current_app.extensions["carbon_host"].partner_cipher()


@console.get("/partners")
def partners():
    return _list()


@console.post("/partners")
def partner_new():
    form = _form()
    if form.validate_on_submit():
        try:
            issued = create_partner(db.session, {**_values(form), "active": True}, utcnow(), cipher=_cipher(),
                                    actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            return _list(issued=issued, status=201)
    return _list(form=form, status=422)


@console.route("/partners/<int:partner_id>", methods=["GET", "POST"])
def partner_edit(partner_id):
    partner = get_partner(db.session, partner_id)
    posted = request.method == "POST"
    form = _form(partner, formdata=posted)
    if form.validate_on_submit():
        try:
            update_partner(db.session, partner.id, {**_values(form), "active": form.active.data}, utcnow(),
                           actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(f"已保存合作方「{form.name.data.strip()}」。")
            return redirect(url_for("console.partners"))
    return render_template("console/partner_form.html", partner=partner, form=form), 422 if posted else 200


@console.post("/partners/<int:partner_id>/rotate")
def partner_rotate(partner_id):
    issued = rotate_partner_key(db.session, partner_id, utcnow(), cipher=_cipher(), actor_id=g.staff.id)
    db.session.commit()
    return _list(issued=issued)
