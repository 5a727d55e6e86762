"""我的碳账户, 明细 and a credit's explanation, and the 长辈版 switch."""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, session

from carbon_credit.ledger.points import balance_summary
from carbon_credit.models import ActionType
from carbon_credit.reporting.leaderboards import community_leaderboard, parse_month, resident_rank
from carbon_credit.ledger.statement import statement_page
from carbon_credit.reporting.resident_pages import next_expiry, own_credit, trend
from carbon_credit.rules.explain import explain_credit
from carbon_credit.timeutil import utcnow

from ..database import db
from . import ELDER_KEY, h5
from .auth import safe_next
from .chart import stacked_bars

STATEMENT_PAGE = 20
KIND_WORDS = {"credit": "获得", "earn": "获得", "spend": "兑换", "expire": "过期", "adjust": "调整", "reverse": "撤销",
              "refund": "退回"}


@h5.get("/")
def home():
    now = utcnow()
    resident = g.resident
    rank = resident_rank(db.session, resident, now)
    top = (community_leaderboard(db.session, resident.community_id, parse_month(None, now), limit=5)
           if resident.community_id else [])
    recent = trend(db.session, resident.id, now)
    return render_template("h5/home.html", balance=balance_summary(db.session, resident.id, now),
                           expiry=next_expiry(db.session, resident.id, now), rank=rank, top=top,
                           trend=recent, chart=stacked_bars(recent))


@h5.get("/history")
def history():
    lines, more = statement_page(db.session, g.resident.id, after=request.args.get("before"), limit=STATEMENT_PAGE)
    template = "h5/_statement.html" if request.headers.get("HX-Request") else "h5/history.html"
    return render_template(template, lines=lines, more=more, kinds=KIND_WORDS)


@h5.get("/credits/<int:credit_id>")
def credit(credit_id: int):
    found = own_credit(db.session, g.resident.id, credit_id)
    if found is None:
        abort(404)
    action_type = db.session.get(ActionType, found.action_type)
    name = action_type.name if action_type else found.action_type
    return render_template("h5/credit.html", credit=found, name=name, explanation=explain_credit(found, name))


@h5.get("/settings")
def settings():
    return render_template("h5/settings.html")


@h5.post("/elder")
def elder():
    """Switch 长辈版 on or off; it stays with the browser across pages."""
    if request.form.get("on") == "1":
        session[ELDER_KEY] = True
    else:
        session.pop(ELDER_KEY, None)
    return redirect(safe_next(request.form.get("next")))
