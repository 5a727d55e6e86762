"""报表: the monthly street report — on screen with charts, print-ready on A4, and as XLSX."""
from __future__ import annotations

from flask import Response, g, render_template, request

from carbon_credit.budgets.limits import parse_month
from carbon_credit.errors import DomainError
from carbon_credit.reporting.overview import current_month, visible_communities
from carbon_credit.reporting.street_report import report_xlsx, street_report
from carbon_credit.timeutil import TZ, utcnow

from .. import texts
from ..database import db
from . import console


def _choices():
    streets = {}
    for community in visible_communities(db.session, g.scope):
        streets.setdefault(community.street_id, community.street.name)
    return streets


def _month(now):
    text = request.args.get("month", "")
    try:
        return (parse_month(text) if text else current_month(now)), None
    except DomainError:
        return current_month(now), "月份格式如 2026-06，已显示本月。"


@console.get("/reports")
def report():
    now = utcnow()
    streets = _choices()
    month, warning = _month(now)
    chosen = request.args.get("street", "")
    street_id = int(chosen) if chosen.isdigit() else next(iter(streets), None)
    if street_id is None:
        return render_template("console/report.html", report=None, streets=streets, month=month, warning=warning)
    data = street_report(db.session, street_id, month, now, scope=g.scope)
    if request.args.get("format") == "xlsx":
        names = {**texts.CATEGORY, **texts.STATUS}
        body = report_xlsx(data, names)
        name = f"street-{street_id}-{month.strftime('%Y-%m')}.xlsx"
        return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    chart = {"categories": [{"name": texts.CATEGORY.get(r["category"], r["category"]), "value": texts.chart_kg(r["grams"])}
                            for r in data["categories"]],
             "communities": [r["community"] for r in data["communities"]],
             "community_kg": [texts.chart_kg(r["grams"]) for r in data["communities"]],
             "participation": [round(r["participation"] * 100, 1) for r in data["communities"]],
             "days": [d["day"].strftime("%m-%d") for d in data["daily"]],
             "daily_kg": [texts.chart_kg(d["grams"]) for d in data["daily"]]}
    return render_template("console/report.html", report=data, streets=streets, month=month, warning=warning,
                           chart=chart, street_id=street_id, now_text=_local_time(now))


def _local_time(moment) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
