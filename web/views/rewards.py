"""奖品: the catalogue with its stock, redemptions (cancel and refund), and voucher verification (核销)."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for

from carbon_credit.errors import DomainError, Forbidden, InvalidInput
from carbon_credit.models.rewards import REDEMPTION_STATUSES
from carbon_credit.reporting.overview import visible_communities
from carbon_credit.rewards.catalogue import create_reward, get_reward, list_rewards, may_manage, update_reward
from carbon_credit.rewards.redemptions import cancel_redemption, list_redemptions, use_voucher
from carbon_credit.timeutil import local_date, start_of_local_day, utcnow

from .. import texts
from ..database import db
from ..forms import RewardForm, VoucherForm
from . import console

PAGE_SIZE = 20
REWARD_FIELDS = ("kind", "title", "description", "points_cost", "stock", "per_resident_limit", "active")


def _page() -> int:
    value = request.args.get("page", "1")
    return max(1, int(value)) if value.isdigit() else 1


@console.get("/rewards")
def rewards():
    shown = request.args.get("shown", "")
    rows = list_rewards(db.session, g.scope, include_inactive=shown != "active")
    page = _page()
    start = (page - 1) * PAGE_SIZE
    return render_template("console/rewards.html", rows=rows[start:start + PAGE_SIZE], page=page,
                           has_next=len(rows) > start + PAGE_SIZE, shown=shown,
                           manageable={r.id for r in rows if may_manage(r, g.scope)})


def _values(form) -> dict:
    values = {name: getattr(form, name).data for name in REWARD_FIELDS}
    values["title"] = values["title"].strip()
    values["description"] = (values["description"] or "").strip()
    values["visible_from"] = start_of_local_day(form.visible_from.data)
    values["visible_until"] = start_of_local_day(form.visible_until.data + timedelta(days=1))
    values["community_ids"] = list(form.community_ids.data or [])
    return values


def _refused(form, error: DomainError) -> None:
    db.session.rollback()
    fields = texts.field_errors(error.errors)
    for name, messages in fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.append(f"{texts.field_label(name)}：{'；'.join(messages)}")
    if not fields:
        form.form_errors.append(texts.error_text(error.code))


def _reward_form(reward=None):
    form = RewardForm(obj=reward) if reward is not None and request.method == "GET" else RewardForm()
    form.community_ids.choices = [(c.id, f"{c.street.name} · {c.name}")
                                  for c in visible_communities(db.session, g.scope)]
    if request.method == "GET":
        today = local_date(utcnow())
        if reward is None:
            form.visible_from.data, form.visible_until.data = today, today + timedelta(days=90)
        else:
            form.visible_from.data = local_date(reward.visible_from)
            form.visible_until.data = local_date(reward.visible_until - timedelta(microseconds=1))
            form.community_ids.data = reward.community_ids
    return form


@console.route("/rewards/new", methods=["GET", "POST"])
@console.route("/rewards/<int:reward_id>/edit", methods=["GET", "POST"])
def reward_form(reward_id=None):
    reward = get_reward(db.session, reward_id, g.scope) if reward_id is not None else None
    if reward is not None and not may_manage(reward, g.scope):
        raise Forbidden(code="forbidden")
    form = _reward_form(reward)
    if form.validate_on_submit():
        try:
            if reward is None:
                reward = create_reward(db.session, utcnow(), actor_id=g.staff.id, scope=g.scope, **_values(form))
            else:
                update_reward(db.session, reward.id, _values(form), utcnow(), actor_id=g.staff.id, scope=g.scope)
        except (InvalidInput, Forbidden) as error:
            _refused(form, error)
            reward = None if reward_id is None else reward
        else:
            db.session.commit()
            flash("奖品已保存。")
            return redirect(url_for("console.rewards"))
    return render_template("console/reward_form.html", form=form, reward=reward,
                           kinds=texts.REWARD_KIND), 422 if form.errors or form.form_errors else 200


@console.get("/redemptions")
def redemptions():
    status = request.args.get("status") or None
    if status not in (None, *REDEMPTION_STATUSES):
        status = None
    reward = request.args.get("reward", "")
    page = _page()
    rows = list_redemptions(db.session, reward_id=int(reward) if reward.isdigit() else None, status=status,
                            scope=g.scope, limit=page * PAGE_SIZE + 1)
    start = (page - 1) * PAGE_SIZE
    return render_template("console/redemptions.html", rows=rows[start:start + PAGE_SIZE], page=page,
                           has_next=len(rows) > start + PAGE_SIZE, status=status, reward=reward,
                           statuses=REDEMPTION_STATUSES, rewards=list_rewards(db.session, g.scope))


@console.post("/redemptions/<int:redemption_id>/cancel")
def redemption_cancel(redemption_id):
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash("请填写取消的理由。")
    else:
        try:
            found = cancel_redemption(db.session, redemption_id, utcnow(), actor_id=g.staff.id, scope=g.scope,
                                      reason=reason[:200])
        except DomainError as error:
            db.session.rollback()
            if getattr(error, "status", 400) == 404:
                raise
            flash(texts.error_text(error.code))
        else:
            db.session.commit()
            flash(f"已取消兑换，{found.points} 积分已退回居民账户，库存已加回。")
    return redirect(request.referrer if (request.referrer or "").find("/console/redemptions") >= 0
                    else url_for("console.redemptions"))


@console.route("/vouchers", methods=["GET", "POST"])
def vouchers():
    form, used, error, status = VoucherForm(), None, None, 200
    if form.validate_on_submit():
        try:
            used = use_voucher(db.session, form.code.data, utcnow(), actor_id=g.staff.id, scope=g.scope)
        except DomainError as refused:
            db.session.rollback()
            error, status = texts.error_text(refused.code), getattr(refused, "status", 400)
        else:
            db.session.commit()
            form = VoucherForm(formdata=None)
    if form.errors:
        status = 422
    return render_template("console/vouchers.html", form=form, used=used, error=error), status
