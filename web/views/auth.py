"""Signing in and out, and changing one's own password."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from carbon_credit.errors import InvalidInput
from carbon_credit.staff.sessions import change_own_password, end_session, may_sign_in, open_session
from carbon_credit.staff.signin import (
    InvalidCredentials,
    SignInThrottled,
    policy_from_config,
    sign_in_staff,
    throttle_store,
)
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
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


def _check_password(stored_hash: str | None, password: str) -> bool:
    """The password against its hash; an unknown username costs as long as a known one."""
    if stored_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(stored_hash, password)


def _sign_in(username: str, password: str):
    """The staff member, through the same throttle as the API's token endpoint (per account and address)."""
    config = current_app.config
    staff = sign_in_staff(db.session, utcnow(), username, password, address=request.remote_addr,
                          check_password=_check_password,
                          store=throttle_store(db.session, config["REDIS_URL"], prefix=config["SIGN_IN_REDIS_PREFIX"]),
                          policy=policy_from_config(config))
    # The throttle committed its counts on a connection of its own; end this session's read
    # transaction so the session row is written on a fresh snapshot (SQLite cannot upgrade a stale one).
    db.session.commit()
    return staff if may_sign_in(staff) else None


@console.route("/login", methods=["GET", "POST"])
def sign_in():
    form = SignInForm(next=request.args.get("next", ""))
    error, status, headers = None, None, {}
    if form.validate_on_submit():
        try:
            staff = _sign_in(form.username.data, form.password.data)
        except SignInThrottled as exc:
            staff, status, headers = None, 429, exc.headers
            error = texts.error_text("too_many_sign_in_attempts", minutes=max(1, -(-exc.retry_after // 60)))
        except InvalidCredentials:
            staff = None
        if staff is None:
            error = error or texts.error_text("invalid_credentials")
        else:
            secret = open_session(db.session, staff, utcnow(), lifetime=_lifetime())
            db.session.commit()
            session.clear()
            session[SESSION_KEY] = secret
            return redirect(_safe_next(form.next.data))
    status = status or (401 if error else (422 if form.errors else 200))
    return render_template("console/sign_in.html", form=form, error=error), status, headers


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
