"""A campaign on site: the printable A4 poster with its check-in QR code, and checking residents in."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
import requests
from flask import current_app, flash, g, redirect, render_template, url_for
from markupsafe import Markup
from wechatpy.exceptions import WeChatClientException

from carbon_credit.actions.campaign_checkins import check_in_on_site
from carbon_credit.errors import DomainError, NotFound
from carbon_credit.residents.onsite import community_label, find_residents_by_name_and_tail, resident_in_scope
from carbon_credit.timeutil import utcnow

from .. import texts
from ..database import db
from ..forms import ActionForm, CheckinForm
from ..wechat import (
    WeChatNotConfigured,
    describe_error,
    get_client,
    qrcode_for_request,
    resolve_qr_request,
    stored_qrcode_for_target,
)
from . import console
from .campaigns import _readable, _writable


def qr_svg(data: str) -> Markup:
    """The QR code of ``data`` as inline SVG, drawn here (no image service, works offline)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return Markup(svg[svg.index("<svg"):])


def wechat_online() -> bool:
    """Whether asking for a code now reaches WeChat (an offline server only records one again)."""
    try:
        return getattr(get_client(), "offline", False) is not True
    except WeChatNotConfigured:
        return False


def _stored_code(campaign):
    try:
        return stored_qrcode_for_target(db.session, "campaign", campaign.id, utcnow(), community_ids=g.scope)
    except NotFound:
        return None


@console.get("/campaigns/<int:campaign_id>/poster")
def campaign_poster(campaign_id):
    campaign = _readable(campaign_id)
    code = _stored_code(campaign) if campaign.checkin_points > 0 else None
    return render_template("console/poster.html", campaign=campaign, code=code,
                           svg=qr_svg(code.url) if code is not None else None, action=ActionForm(),
                           wechat_online=code is not None and code.offline and wechat_online())


@console.post("/campaigns/<int:campaign_id>/qrcode")
def campaign_qrcode(campaign_id):
    """Ask WeChat for the campaign's check-in code (or reuse the stored one), then back to the poster."""
    campaign = _writable(campaign_id)
    request_qrcode("campaign", campaign.id)
    return redirect(url_for("console.campaign_poster", campaign_id=campaign.id))


def request_qrcode(target_type: str, target_id: int) -> None:
    """Ask WeChat for a target's code (or reuse the stored one) and flash how it went, for the poster page."""
    qr_request = resolve_qr_request(db.session, target_type, target_id, community_ids=g.scope)
    try:
        client = get_client()
    except WeChatNotConfigured:
        flash(texts.error_text("wechat_not_configured"))
        return
    db.session.commit()  # end the read transaction before the token store may write (SQLite)
    try:
        code, _ = qrcode_for_request(db.session, client, qr_request, utcnow(), staff_id=g.staff.id)
    except (WeChatClientException, requests.RequestException) as exc:
        db.session.rollback()
        flash(texts.error_text("wechat_api_error", detail=describe_error(exc)))
    else:
        db.session.commit()
        flash("离线签到码已生成（本服务器没有连接微信公众号）。" if code.offline else "二维码已生成。")


def _keys() -> dict:
    return {"card": current_app.config.get("CARD_HASH_KEY"), "phone": current_app.config.get("PHONE_HASH_KEY")}


def _check_in(campaign, resident_id: int):
    result = check_in_on_site(db.session, campaign.id, {"resident_id": resident_id}, utcnow(), staff_id=g.staff.id,
                              keys=_keys(), scope=g.scope)
    db.session.commit()
    return result


def _render(campaign, form, matches=(), status=200):
    labels = {r.id: community_label(db.session, r.community_id) for r in matches}
    return render_template("console/checkin.html", campaign=campaign, form=form, matches=matches,
                           labels=labels), status


@console.route("/campaigns/<int:campaign_id>/checkin", methods=["GET", "POST"])
def campaign_checkin(campaign_id):
    campaign = _writable(campaign_id)
    form = CheckinForm()
    if not form.validate_on_submit():
        return _render(campaign, form, status=422 if form.errors else 200)
    try:
        if form.resident_id.data:
            resident = resident_in_scope(db.session, g.scope, int(form.resident_id.data)
                                         if form.resident_id.data.isdigit() else None)
            if resident is None:
                raise NotFound(code="resident_not_found")
            result = _check_in(campaign, resident.id)
        elif form.card_no.data:
            result = check_in_on_site(db.session, campaign.id, {"card_no": form.card_no.data.strip()}, utcnow(),
                                      staff_id=g.staff.id, keys=_keys(), scope=g.scope)
            db.session.commit()
        else:
            matches = find_residents_by_name_and_tail(db.session, g.scope, form.name.data, form.phone_tail.data)
            if len(matches) != 1:
                if not matches:
                    form.name.errors.append(texts.error_text("resident_not_found"))
                    return _render(campaign, form, status=404)
                return _render(campaign, form, matches)  # several share name and tail: the worker picks
            result = _check_in(campaign, matches[0].id)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(texts.error_text(error.code))
        return _render(campaign, form, status=getattr(error, "status", 400))
    resident = resident_in_scope(db.session, None, result.detail.get("resident_id"))
    who = resident.display_name if resident and resident.display_name else f"居民 {result.detail.get('resident_id')}"
    flash(f"已为 {who} 签到，获得 {result.points} 积分。")
    return redirect(url_for("console.campaign_checkin", campaign_id=campaign.id))
