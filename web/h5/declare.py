"""自报: a green action the resident declares; it counts at a lower evidence weight and says so."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from flask import g, redirect, render_template, request, url_for

from carbon_credit.actions.self_report import MAX_AGE, Declaration, declarable_types, declare_action
from carbon_credit.errors import DomainError
from carbon_credit.timeutil import TZ, local_date, utcnow

from .. import texts as console_texts
from ..database import db
from . import h5
from .texts import error_text

DECLARE_ERRORS = {"quantity": "请填写一个大于 0 的数量，且不超过该行为的单次上限。",
                  "occurred_at": "日期须在最近 7 天内，且不能晚于今天。",
                  "action_type": "请选择一项可以自报的行为。"}


def _page(values=None, errors=None, status=200):
    today = local_date(utcnow())
    return render_template("h5/declare.html", types=declarable_types(db.session), values=values or {},
                           errors=errors or {}, units=console_texts.UNIT, key=secrets.token_urlsafe(16),
                           today=today.isoformat(), earliest=(today - timedelta(days=MAX_AGE.days)).isoformat()
                           ), status


def _moment(day: date, now: datetime) -> datetime:
    """Today: now; an earlier day: its noon in Shanghai (the form asks for the day only)."""
    return now if day >= local_date(now) else datetime.combine(day, time(12), tzinfo=TZ)


@h5.get("/declare")
def declare_form():
    return _page()


@h5.post("/declare")
def declare():
    values = {name: request.form.get(name, "").strip() for name in ("action_type", "quantity", "day")}
    now = utcnow()
    try:
        quantity = Decimal(values["quantity"])
        day = date.fromisoformat(values["day"])
    except (InvalidOperation, ValueError):
        return _page(values, {"form": "数量或日期填写不正确：数量填数字，日期从日历中选择。没有保存任何内容。"}, 422)
    try:
        result = declare_action(db.session, g.resident.id, request.form.get("key") or secrets.token_urlsafe(16),
                                Declaration(action_type=values["action_type"], quantity=quantity,
                                            occurred_at=_moment(day, now)), now)
    except DomainError as exc:
        db.session.rollback()
        fields = {name: DECLARE_ERRORS.get(name, "请检查这一项") for name in (exc.errors or {})}
        return _page(values, fields or {"form": error_text(exc.code)}, exc.status)
    db.session.commit()
    if result.credit is not None:
        return redirect(url_for("h5.credit", credit_id=result.credit.id))
    return redirect(url_for("h5.history"))
