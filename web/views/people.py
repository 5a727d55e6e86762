"""人员 (admins): staff accounts — list, create, communities, disable/enable with a reason, reset a password."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.security import generate_password_hash

from carbon_credit.errors import DomainError
from carbon_credit.reporting.overview import visible_communities
from carbon_credit.staff.accounts import (
    assign_communities,
    create_staff,
    get_staff,
    list_staff,
    reset_staff_password,
    set_staff_active,
)
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import CommunitiesForm, PasswordResetForm, ReasonForm, StaffForm
from . import console


def _community_choices():
    return [(c.id, f"{c.street.name} · {c.name}") for c in visible_communities(db.session, None)]


def refuse(form, error: DomainError, field_names: dict | None = None) -> None:
    """A domain refusal beside the field it concerns, or above the form."""
    db.session.rollback()
    fields = texts.field_errors(error.errors)
    for name, messages in fields.items():
        field = getattr(form, (field_names or {}).get(name, name), None)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.append(f"{texts.field_label(name)}：{'；'.join(messages)}")
    if not fields:
        form.form_errors.append(texts.error_text(error.code))


@console.get("/staff")
def staff():
    role = request.args.get("role") if request.args.get("role") in texts.ROLE else None
    shown = request.args.get("active", "")
    active = {"yes": True, "no": False}.get(shown)
    return render_template("console/staff.html", rows=list_staff(db.session, role=role, active=active), role=role,
                           shown=shown)


@console.route("/staff/new", methods=["GET", "POST"])
def staff_new():
    form = StaffForm()
    form.community_ids.choices = _community_choices()
    if form.validate_on_submit():
        try:
            created = create_staff(db.session, utcnow(), username=form.username.data.strip(), role=form.role.data,
                                   password=form.password.data, hash_password=generate_password_hash,
                                   community_ids=form.community_ids.data or [],
                                   display_name=(form.display_name.data or "").strip(), actor_kind="staff",
                                   actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error, {"communities": "community_ids"})
            if error.code == "username_taken":
                form.form_errors.remove(texts.error_text(error.code))
                form.username.errors = list(form.username.errors) + [texts.error_text(error.code)]
        else:
            db.session.commit()
            flash(f"已添加{texts.ROLE[created.role]} {created.username}。")
            return redirect(url_for("console.staff_detail", staff_id=created.id))
    return render_template("console/staff_form.html", form=form), 422 if request.method == "POST" else 200


def _detail(member, *, communities=None, reason=None, password=None, status=200):
    if communities is None:
        communities = CommunitiesForm(formdata=None, community_ids=[c.id for c in member.communities])
    communities.community_ids.choices = _community_choices()
    return render_template("console/staff_detail.html", member=member, communities=communities,
                           reason=reason or ReasonForm(formdata=None),
                           password=password or PasswordResetForm(formdata=None)), status


@console.get("/staff/<int:staff_id>")
def staff_detail(staff_id):
    return _detail(get_staff(db.session, staff_id))


@console.post("/staff/<int:staff_id>/communities")
def staff_communities(staff_id):
    member = get_staff(db.session, staff_id)
    form = CommunitiesForm()
    form.community_ids.choices = _community_choices()
    if form.validate_on_submit():
        try:
            assign_communities(db.session, utcnow(), member.id, form.community_ids.data, actor_id=g.staff.id)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash("负责的社区已更新，立即生效。")
            return redirect(url_for("console.staff_detail", staff_id=member.id))
    return _detail(get_staff(db.session, staff_id), communities=form, status=422)


@console.post("/staff/<int:staff_id>/active")
def staff_active(staff_id):
    member = get_staff(db.session, staff_id)
    form = ReasonForm()
    if form.validate_on_submit():
        enable = not member.active
        try:
            set_staff_active(db.session, utcnow(), member.id, enable, actor_id=g.staff.id,
                             reason=form.reason.data.strip())
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash(f"已{'启用' if enable else '停用'}账号 {member.username}" + ("。" if enable else
                  "：该账号的登录已全部失效。"))
            return redirect(url_for("console.staff_detail", staff_id=member.id))
    return _detail(get_staff(db.session, staff_id), reason=form, status=422)


@console.post("/staff/<int:staff_id>/password")
def staff_password(staff_id):
    member = get_staff(db.session, staff_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            reset_staff_password(db.session, utcnow(), member.id, form.new_password.data, actor_id=g.staff.id,
                                 hash_password=generate_password_hash)
        except DomainError as error:
            refuse(form, error, {"password": "new_password"})
        else:
            db.session.commit()
            flash(f"已为 {member.username} 设置新密码，该账号原有的登录已全部失效。请把新密码当面告知本人。")
            return redirect(url_for("console.staff_detail", staff_id=member.id))
    return _detail(get_staff(db.session, staff_id), password=form, status=422)
