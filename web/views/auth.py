"""Signing in and out, and changing one's own password."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from api.extensions import db
from carbon_credit.errors import InvalidInput
from carbon_credit.staff_sessions import (change_own_password, end_session, may_sign_in, open_session,
                                          staff_by_username)
from carbon_credit.timeutil import utcnow

from .. import texts
from ..forms import ActionForm, PasswordForm, SignInForm
from . import SESSION_KEY, console

# Checked against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _safe_next(target: str | None) -> str:
    """Only a path inside the console; anything else (another host, a scheme) goes to the dashboard."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or target.startswith("//"):
        return url_for("console.dashboard")
    return target


def _lifetime() -> timedelta:
    return timedelta(seconds=current_app.config.get("TOKEN_TTL_SECONDS", 12 * 3600))


def _check_credentials(username: str, password: str):
    staff = staff_by_username(db.session, username)
    if staff is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(staff.password_hash, password) or not may_sign_in(staff):
        return None
    return staff


@console.route("/login", methods=["GET", "POST"])
def sign_in():
    form = SignInForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        staff = _check_credentials(form.username.data, form.password.data)
        if staff is None:
            error = texts.error_text("invalid_credentials")
        else:
            secret = open_session(db.session, staff, utcnow(), lifetime=_lifetime())
            db.session.commit()
            session.clear()
            session[SESSION_KEY] = secret
            return redirect(_safe_next(form.next.data))
    status = 401 if error else (422 if form.errors else 200)
    return render_template("console/sign_in.html", form=form, error=error), status


@console.post("/logout")
def sign_out():
    end_session(db.session, session.get(SESSION_KEY), utcnow())
    db.session.commit()
    session.clear()
    flash("您已安全退出。")
    return redirect(url_for("console.sign_in"))


@console.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(g.staff.password_hash, form.current.data):
            form.current.errors.append("当前密码不正确")
        else:
            try:
                change_own_password(db.session, g.staff.id, form.new.data, generate_password_hash(form.new.data),
                                    utcnow())
            except InvalidInput as exc:
                db.session.rollback()
                form.new.errors.extend(texts.field_errors(exc.errors).get("password", ["不符合密码要求"]))
            else:
                db.session.commit()
                session.clear()
                flash("密码已修改，所有设备上的登录都已退出，请用新密码重新登录。")
                return redirect(url_for("console.sign_in"))
    status = 422 if form.errors else 200
    return render_template("console/password.html", form=form, logout_form=ActionForm()), status
