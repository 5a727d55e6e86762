"""审计 (admins): the audit log, filtered by who, verb, target and date range, a page at a time."""
from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from carbon_credit.reporting.history import audit_page, audit_verbs
from carbon_credit.staff.accounts import list_staff
from carbon_credit.timeutil import start_of_local_day

from .. import texts
from ..database import db
from ..forms import AuditFilter
from . import console

PAGE_SIZE = 50


def _filters(form) -> dict:
    if not form.validate():
        return {}
    found = {"verb": form.verb.data or None, "target_type": (form.target_type.data or "").strip() or None,
             "target_id": (form.target_id.data or "").strip() or None,
             "actor_id": int(form.actor.data) if (form.actor.data or "").isdigit() else None}
    if form.since.data:
        found["since"] = start_of_local_day(form.since.data)
    if form.until.data:
        found["until"] = start_of_local_day(form.until.data + timedelta(days=1))
    return found


@console.get("/audit")
def audit():
    people = list_staff(db.session)
    form = AuditFilter(request.args)
    form.actor.choices = [("", "全部")] + [(str(s.id), s.display_name or s.username) for s in people]
    form.verb.choices = [("", "全部")] + [(v, texts.audit_verb(v)) for v in audit_verbs(db.session)]
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() and int(request.args["page"]) else 1
    filters = _filters(form)
    rows, has_next = audit_page(db.session, page, PAGE_SIZE, **filters) if not form.errors else ([], False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("console/audit.html", form=form, rows=rows, page=page, has_next=has_next, args=args,
                           names={s.id: s.display_name or s.username for s in people}), 422 if form.errors else 200
