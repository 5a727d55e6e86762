"""站点: recycling stations, smart bins and kiosks in the caller's communities; create, edit, print the QR poster."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from carbon_credit.errors import DomainError, NotFound
from carbon_credit.models.stations import STATION_KINDS
from carbon_credit.org.stations import create_station, get_station, list_stations, update_station
from carbon_credit.partners.keys import list_partners
from carbon_credit.reporting.overview import visible_communities
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import StationForm
from ..wechat import stored_qrcode_for_target
from . import console
from .campaign_site import qr_svg, request_qrcode, wechat_online
from .people import refuse


def _form(station=None):
    posted = request.method == "POST"
    form = StationForm() if posted else StationForm(formdata=None, obj=station)
    if station is not None and not posted:
        form.partner_id.data = str(station.partner_id or "")
    form.kind.choices = [(k, texts.STATION_KIND.get(k, k)) for k in STATION_KINDS]
    form.community_id.choices = [(c.id, f"{c.street.name} · {c.name}") for c in visible_communities(db.session, g.scope)]
    form.partner_id.choices = [("", "无（社区自管）")] + [(str(p.id), p.name) for p in list_partners(db.session)]
    return form


def _values(form) -> dict:
    return {"name": form.name.data.strip(), "kind": form.kind.data, "community_id": form.community_id.data,
            "address": (form.address.data or "").strip(),
            "partner_id": int(form.partner_id.data) if (form.partner_id.data or "").isdigit() else None,
            "active": form.active.data}


@console.get("/stations")
def stations():
    community = request.args.get("community", "")
    rows = list_stations(db.session, scope=g.scope, community_id=int(community) if community.isdigit() else None)
    return render_template("console/stations.html", rows=rows, community=community,
                           communities=visible_communities(db.session, g.scope),
                           partners={p.id: p.name for p in list_partners(db.session)})


@console.route("/stations/new", methods=["GET", "POST"])
@console.route("/stations/<int:station_id>/edit", methods=["GET", "POST"])
def station_form(station_id=None):
    station = get_station(db.session, station_id, g.scope) if station_id is not None else None
    form = _form(station)
    if form.validate_on_submit():
        try:
            if station is None:
                station = create_station(db.session, _values(form), utcnow(), scope=g.scope, actor_id=g.staff.id)
            else:
                update_station(db.session, station.id, _values(form), utcnow(), scope=g.scope, actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
            station = get_station(db.session, station_id, g.scope) if station_id is not None else None
        else:
            db.session.commit()
            flash(f"站点「{form.name.data.strip()}」已保存。")
            return redirect(url_for("console.stations"))
    return render_template("console/station_form.html", form=form, station=station), \
        422 if request.method == "POST" else 200


@console.get("/stations/<int:station_id>/poster")
def station_poster(station_id):
    station = get_station(db.session, station_id, g.scope)
    try:
        code = stored_qrcode_for_target(db.session, "station", station.id, utcnow(), community_ids=g.scope)
    except NotFound:
        code = None
    return render_template("console/station_poster.html", station=station, code=code,
                           svg=qr_svg(code.url) if code is not None else None,
                           wechat_online=code is not None and code.offline and wechat_online())


@console.post("/stations/<int:station_id>/qrcode")
def station_qrcode(station_id):
    """Ask WeChat for the station's permanent code (or reuse the stored one), then back to the poster."""
    station = get_station(db.session, station_id, g.scope)
    request_qrcode("station", station.id)
    return redirect(url_for("console.station_poster", station_id=station.id))
