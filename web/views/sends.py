"""发送记录 (admins): template messages, mass sends, QR codes and menus, as sent to WeChat or recorded offline."""
from __future__ import annotations

from flask import render_template, request

from carbon_credit.outreach.sends import mass_sends, menu_publications, qr_codes, template_sends

from ..database import db
from . import console

LISTS = {"templates": template_sends, "mass": mass_sends, "qrcodes": qr_codes, "menus": menu_publications}
PUBLICITY_KIND = {"start": "活动开始", "reminder": "结束前提醒", "results": "活动结果", "announce": "活动宣传"}


def masked(value: str, secret) -> str:
    """A value with a voucher code in it shows only the code's last four characters."""
    secret = str(secret or "")
    if len(secret) < 6 or secret not in value:
        return value
    return value.replace(secret, "*" * (len(secret) - 4) + secret[-4:])


def shown_data(send, note) -> list[tuple[str, str]]:
    """The template's keyword values as sent, or the notification's payload for a message sent before they
    were kept; voucher codes masked either way (the page is not the resident's)."""
    secret = (note.payload or {}).get("voucher_code")
    if not send.data:
        return [(name, masked(str(value), secret)) for name, value in (note.payload or {}).items()]
    return [(name, masked(str((item or {}).get("value", "")), secret)) for name, item in send.data.items()]


def menu_lines(menu: dict) -> list[str]:
    """Each top-level button with its sub-buttons, as a line."""
    lines = []
    for top in (menu or {}).get("button", []):
        subs = [sub.get("name", "") for sub in top.get("sub_button", [])]
        lines.append(f"{top.get('name', '')}：{'、'.join(subs)}" if subs else top.get("name", ""))
    return lines


@console.get("/sends")
def sends():
    tab = request.args.get("tab") if request.args.get("tab") in LISTS else "templates"
    page = int(request.args["page"]) if request.args.get("page", "").isdigit() and int(request.args["page"]) else 1
    rows, has_next = LISTS[tab](db.session, page)
    return render_template("console/sends.html", tab=tab, rows=rows, page=page, has_next=has_next,
                           shown_data=shown_data, menu_lines=menu_lines, publicity_kind=PUBLICITY_KIND)
