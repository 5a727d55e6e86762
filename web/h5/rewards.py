"""奖品: the catalogue offered to the resident, redeeming after a confirmation, vouchers with a QR code."""
from __future__ import annotations

import secrets

import qrcode
import qrcode.image.svg
from flask import abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from carbon_credit.errors import DomainError
from carbon_credit.ledger.points import balance_summary
from carbon_credit.reporting.resident_pages import own_redemption
from carbon_credit.rewards.catalogue import offered_rewards
from carbon_credit.rewards.redemptions import cancel_redemption, list_redemptions, redeem_reward
from carbon_credit.timeutil import utcnow

from ..database import db
from . import h5
from .texts import STATUS_WORDS, error_text


def _offer(reward_id: int):
    for reward, held in offered_rewards(db.session, g.resident, utcnow()):
        if reward.id == reward_id:
            return reward, held
    abort(404)


@h5.get("/rewards")
def rewards():
    now = utcnow()
    offers = offered_rewards(db.session, g.resident, now)
    return render_template("h5/rewards.html", offers=offers, balance=balance_summary(db.session, g.resident.id, now),
                           vouchers=list_redemptions(db.session, resident_id=g.resident.id, status="issued"))


@h5.route("/rewards/<int:reward_id>/redeem", methods=["GET", "POST"])
def redeem(reward_id: int):
    """GET shows what it costs and asks to confirm; POST (the confirmation) redeems."""
    reward, held = _offer(reward_id)
    error = None
    if request.method == "POST":
        try:
            redemption, _created = redeem_reward(db.session, g.resident.id, reward.id, utcnow(),
                                                 idempotency_key=request.form.get("key") or None)
        except DomainError as exc:
            db.session.rollback()
            error = error_text(exc.code)
        else:
            db.session.commit()
            return redirect(url_for("h5.voucher", redemption_id=redemption.id))
    balance = balance_summary(db.session, g.resident.id, utcnow())
    return render_template("h5/redeem.html", reward=reward, held=held, balance=balance, error=error,
                           key=secrets.token_urlsafe(16)), 409 if error else 200


@h5.get("/vouchers")
def vouchers():
    return render_template("h5/vouchers.html", vouchers=list_redemptions(db.session, resident_id=g.resident.id),
                           status_words=STATUS_WORDS)


def _own(redemption_id: int):
    redemption = own_redemption(db.session, g.resident.id, redemption_id)
    if redemption is None:
        abort(404)
    return redemption


def qr_svg(text: str) -> Markup:
    """The voucher code as an inline SVG QR code (drawn by the qrcode package, no image request)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="券码二维码" class="qr" ', 1))


@h5.get("/vouchers/<int:redemption_id>")
def voucher(redemption_id: int):
    redemption = _own(redemption_id)
    qr = qr_svg(redemption.voucher_code) if redemption.status == "issued" else None
    return render_template("h5/voucher.html", redemption=redemption, qr=qr, status_words=STATUS_WORDS)


@h5.route("/vouchers/<int:redemption_id>/cancel", methods=["GET", "POST"])
def cancel_voucher(redemption_id: int):
    """GET asks to confirm; POST cancels the unused voucher and refunds its points."""
    redemption = _own(redemption_id)
    error = None
    if request.method == "POST":
        try:
            cancel_redemption(db.session, redemption.id, utcnow(), resident_id=g.resident.id, reason="居民自行取消")
        except DomainError as exc:
            db.session.rollback()
            error = error_text(exc.code)
        else:
            db.session.commit()
            return redirect(url_for("h5.voucher", redemption_id=redemption.id))
    return render_template("h5/cancel_voucher.html", redemption=redemption, error=error), 409 if error else 200
