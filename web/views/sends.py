"""发送记录 (admins): template messages, mass sends and QR codes, as sent to WeChat or recorded offline."""
from __future__ import annotations

from flask import render_template, request

from carbon_credit.outreach.sends import mass_sends, qr_codes, template_sends

from ..database import db
from . import console

LISTS = {"templates": template_sends, "mass": mass_sends, "qrcodes": qr_codes}


@console.get("/sends")
def sends():
    tab = request.args.get("tab") if request.args.get("tab") in LISTS else "templates"
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() and int(request.args["page"]) else 1
    rows, has_next = LISTS[tab](db.session, page)
    return render_template("console/sends.html", tab=tab, rows=rows, page=page, has_next=has_next)
