"""概览: the month against the one before, for the caller's communities (admins: the whole city)."""
from __future__ import annotations

from flask import g, render_template, request

from carbon_credit.budgets.admin import liability, month_report
from carbon_credit.budgets.limits import parse_month
from carbon_credit.reporting.overview import (
    current_month,
    expiring_points,
    month_overview,
    narrow_scope,
    visible_communities,
)
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import DashboardFilter
from . import console


def _int_or_none(value):
    return int(value) if value and str(value).isdigit() else None


def _filter_form(communities):
    form = DashboardFilter(request.args)
    streets = {c.street_id: c.street.name for c in communities}
    form.street.choices = [("", "全部街道")] + [(str(k), v) for k, v in streets.items()]
    form.community.choices = [("", "全部社区")] + [(str(c.id), f"{c.street.name} · {c.name}") for c in communities]
    return form


def _chart(overview) -> dict:
    """What the page's charts draw: kg CO2e and points per day."""
    return {"days": [d["day"].strftime("%m-%d") for d in overview["daily"]],
            "kg": [texts.chart_kg(d["grams"]) for d in overview["daily"]],
            "points": [d["points"] for d in overview["daily"]]}


@console.get("/")
def dashboard():
    now = utcnow()
    communities = visible_communities(db.session, g.scope)
    form = _filter_form(communities)
    month = current_month(now)
    if form.validate() and form.month.data:
        month = parse_month(form.month.data)
    form.month.data = month.strftime("%Y-%m")
    selected = narrow_scope(db.session, g.scope, street_id=_int_or_none(form.street.data),
                            community_id=_int_or_none(form.community.data))
    overview = month_overview(db.session, month, now, community_ids=selected)
    money = None
    if g.staff.role == "admin":  # budgets and liability are the operator's figures, as in the API
        money = {"report": month_report(db.session, month, now), "liability": liability(db.session, now),
                 "expiring": expiring_points(db.session, now, days=30)}
    return render_template("console/dashboard.html", form=form, overview=overview, chart=_chart(overview),
                           money=money, category_names=texts.CATEGORY)
