"""绑卡 (transit cards) and 隐私 (what is kept, export, deleting the account) on the residents' pages."""
from __future__ import annotations

import json
from datetime import timedelta

from flask import abort, current_app, g, redirect, render_template, request, url_for

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.errors import DomainError, NotFound
from carbon_credit.residents.accounts import erase_resident
from carbon_credit.residents.cards import MAX_ACTIVE_CARDS, active_cards, unbind_card
from carbon_credit.residents.privacy import export_resident_data
from carbon_credit.timeutil import utcnow

from ..database import db
from . import end_session, h5
from .texts import error_text

DELETE_WORD = "注销"


def _claim_window() -> timedelta:
    return timedelta(days=current_app.config["CARD_CLAIM_WINDOW_DAYS"])


def _cards_page(**context):
    status = context.pop("status", 200)
    return render_template("h5/cards.html", cards=active_cards(db.session, g.resident.id), max_cards=MAX_ACTIVE_CARDS,
                           window_days=_claim_window().days, **context), status


@h5.get("/cards")
def cards():
    return _cards_page()


@h5.post("/cards")
def bind():
    number = request.form.get("number", "")
    try:
        result = bind_card(db.session, g.resident.id, number, utcnow(), key=current_app.config["CARD_HASH_KEY"],
                           claim_window=_claim_window())
    except DomainError as exc:
        db.session.rollback()
        return _cards_page(error=error_text(exc.code), number=number, status=422 if exc.status == 422 else 409)
    db.session.commit()
    return _cards_page(result=result)


@h5.post("/cards/<int:card_id>/unbind")
def unbind(card_id: int):
    try:
        unbind_card(db.session, g.resident.id, card_id, utcnow())
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        return _cards_page(error=error_text(exc.code), status=409)
    db.session.commit()
    return redirect(url_for("h5.cards"))


@h5.get("/privacy")
def privacy():
    return render_template("h5/privacy.html", keep_days=current_app.config["NOTIFICATIONS_KEEP_DAYS"])


@h5.get("/privacy/export")
def export():
    data = current_app.extensions["carbon_host"].dump_resident_export(
        export_resident_data(db.session, g.resident.id, utcnow()))
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return body, 200, {"Content-Type": "application/json; charset=utf-8",
                       "Content-Disposition": "attachment; filename=my-carbon-data.json"}


@h5.route("/privacy/delete", methods=["GET", "POST"])
def delete_account():
    """Deleting asks to confirm by typing 注销; then the person is unlinked and the session ends."""
    error = None
    if request.method == "POST":
        if request.form.get("confirm", "").strip() != DELETE_WORD:
            error = f"请在输入框中输入「{DELETE_WORD}」两个字以确认。账户没有被注销。"
        else:
            erase_resident(db.session, g.resident.id, utcnow())
            db.session.commit()
            end_session()
            return render_template("h5/message.html", title="账户已注销",
                                   message="您的个人信息已删除，积分记录已匿名化。感谢您参与低碳生活。")
    return render_template("h5/delete_account.html", error=error, word=DELETE_WORD), 422 if error else 200
