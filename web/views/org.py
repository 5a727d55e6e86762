"""组织 (admins): streets and their communities — create, rename, move a community to another street."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from carbon_credit.errors import DomainError
from carbon_credit.org.places import (
    create_community,
    create_street,
    get_community,
    get_street,
    list_streets,
    move_community,
    rename_community,
    rename_street,
)
from carbon_credit.timeutil import utcnow

from ..database import db
from ..forms import CommunityForm, StreetForm
from . import console
from .people import refuse


def _community_form(formdata=True, **values):
    form = CommunityForm(prefix="community") if formdata else CommunityForm(formdata=None, prefix="community", **values)
    form.street_id.choices = [(s.id, s.name) for s in list_streets(db.session)]
    return form


def _page(street_form=None, community_form=None, status=200):
    return render_template("console/org.html", streets=list_streets(db.session),
                           street_form=street_form or StreetForm(formdata=None, prefix="street"),
                           community_form=community_form or _community_form(False)), status


@console.get("/org")
def org():
    return _page()


@console.post("/org/streets")
def org_street_new():
    form = StreetForm(prefix="street")
    if form.validate_on_submit():
        try:
            street = create_street(db.session, utcnow(), name=form.name.data, district=form.district.data or "",
                                   actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(f"已新增街道「{street.name}」。")
            return redirect(url_for("console.org"))
    return _page(street_form=form, status=422)


@console.post("/org/communities")
def org_community_new():
    form = _community_form()
    if form.validate_on_submit():
        try:
            community = create_community(db.session, utcnow(), street_id=form.street_id.data, name=form.name.data,
                                         actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(f"已新增社区「{community.name}」。")
            return redirect(url_for("console.org"))
    return _page(community_form=form, status=422)


@console.route("/org/streets/<int:street_id>", methods=["GET", "POST"])
def org_street(street_id):
    street = get_street(db.session, street_id)
    form = StreetForm(prefix="street") if request.method == "POST" else StreetForm(formdata=None, obj=street,
                                                                                   prefix="street")
    if form.validate_on_submit():
        try:
            rename_street(db.session, utcnow(), street.id, name=form.name.data, actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash("街道名称已修改。")
            return redirect(url_for("console.org"))
    return render_template("console/org_item.html", form=form, street=get_street(db.session, street_id),
                           community=None), 422 if request.method == "POST" else 200


@console.route("/org/communities/<int:community_id>", methods=["GET", "POST"])
def org_community(community_id):
    community = get_community(db.session, community_id)
    form = _community_form() if request.method == "POST" else _community_form(
        False, name=community.name, street_id=community.street_id)
    if form.validate_on_submit():
        try:
            if form.name.data.strip() != community.name:
                rename_community(db.session, utcnow(), community.id, name=form.name.data, actor_id=g.staff.id)
            if form.street_id.data != community.street_id:
                move_community(db.session, utcnow(), community.id, street_id=form.street_id.data, actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash("社区已保存。")
            return redirect(url_for("console.org"))
    return render_template("console/org_item.html", form=form, community=get_community(db.session, community_id),
                           street=None), 422 if request.method == "POST" else 200
