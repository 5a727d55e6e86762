"""预算 (admins): a month's points budgets, what each has burnt, the forecast; create, change, remove."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from carbon_credit.actions.types import list_action_types
from carbon_credit.budgets.admin import create_budget, delete_budget, month_report, update_budget
from carbon_credit.budgets.limits import month_of, parse_month
from carbon_credit.errors import DomainError
from carbon_credit.timeutil import utcnow

from ..database import db
from ..forms import ActionForm, BudgetEditForm, BudgetForm
from . import console
from .people import refuse


def _month():
    text = request.args.get("month", "")
    try:
        return parse_month(text) if text else month_of(utcnow())
    except DomainError:
        return None


def _types() -> dict:
    return {t.code: t.name for t in list_action_types(db.session)}


def _page(month, form, status=200, edit=None):
    return render_template("console/budgets.html", month=month, report=month_report(db.session, month, utcnow()),
                           form=form, types=_types(), action=ActionForm(), edit=edit), status


@console.get("/budgets")
def budgets():
    month = _month()
    if month is None:
        flash("月份格式如 2026-06，已显示本月。")
        month = month_of(utcnow())
    form = BudgetForm(formdata=None, month=month.strftime("%Y-%m"), mode="stop")
    form.action_type.choices = [("", "全部行为")] + list(_types().items())
    return _page(month, form)


@console.post("/budgets")
def budget_new():
    form = BudgetForm()
    form.action_type.choices = [("", "全部行为")] + list(_types().items())
    month = month_of(utcnow())
    if form.validate_on_submit():
        month = parse_month(form.month.data)
        try:
            create_budget(db.session, utcnow(), actor_id=g.staff.id, month=month, points_limit=form.points_limit.data,
                          mode=form.mode.data, action_type=form.action_type.data or None,
                          scale_factor=form.scale_factor.data)
        except DomainError as error:
            refuse(form, error)
        else:
            db.session.commit()
            flash("预算已设置，立即对之后的入账生效。")
            return redirect(url_for("console.budgets", month=form.month.data))
    return _page(month, form, 422)


@console.route("/budgets/<int:budget_id>", methods=["GET", "POST"])
def budget_edit(budget_id):
    month = _month() or month_of(utcnow())
    report = month_report(db.session, month, utcnow())
    row = next((r for r in report["budgets"] if r["budget"].id == budget_id), None)
    edit = BudgetEditForm(obj=row["budget"]) if row and request.method == "GET" else BudgetEditForm()
    if request.method == "POST" and edit.validate_on_submit():
        try:
            update_budget(db.session, budget_id, {"points_limit": edit.points_limit.data, "mode": edit.mode.data,
                                                  "scale_factor": edit.scale_factor.data}, utcnow(),
                          actor_id=g.staff.id)
        except DomainError as error:
            if getattr(error, "status", 400) == 404:
                raise
            refuse(edit, error)
        else:
            db.session.commit()
            flash("预算已修改。")
            return redirect(url_for("console.budgets", month=month.strftime("%Y-%m")))
    if row is None and request.method == "GET":
        return render_template("console/error.html", message="找不到该预算（请从对应月份的预算列表进入）。",
                               status=404), 404
    form = BudgetForm(formdata=None, month=month.strftime("%Y-%m"), mode="stop")
    form.action_type.choices = [("", "全部行为")] + list(_types().items())
    return _page(month, form, 422 if request.method == "POST" else 200, edit=(budget_id, edit))


@console.post("/budgets/<int:budget_id>/delete")
def budget_delete(budget_id):
    ActionForm().validate_on_submit()
    delete_budget(db.session, budget_id, utcnow(), actor_id=g.staff.id)
    db.session.commit()
    flash("预算已删除：之后的入账不再受它限制。")
    return redirect(url_for("console.budgets", month=request.args.get("month") or None))
