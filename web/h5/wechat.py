"""The JS-SDK inside WeChat (scan a code, pick an invoice photo) and 扫码签到 with a typed-code fallback."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, g, jsonify, render_template, request

from carbon_credit.reporting.resident_pages import scene_for_code
from carbon_credit.scans import scan_scene
from carbon_credit.timeutil import utcnow

from ..database import db
from . import h5
from .texts import SCAN_OTHER, SCAN_RESULTS

SIGNER = "wechat_jsapi_config"  # registered on the app by the bot face (bot/outbound/jsapi.py)
JS_APIS = ["scanQRCode", "chooseImage", "getLocalImgData"]


@h5.get("/wx-config")
def wx_config():
    """wx.config's signed fields for one of these pages; 404 tells the page to use its plain fallbacks."""
    url = request.args.get("url", "")
    parts = urlsplit(url)
    if parts.netloc != request.host or not parts.path.startswith("/h5/"):
        return jsonify(error="只能为本站的页面签名"), 400
    sign = current_app.extensions.get(SIGNER)
    config = sign(url.split("#", 1)[0]) if sign else None
    if config is None:
        return jsonify(error="微信 JS-SDK 不可用"), 404
    return jsonify({**config, "jsApiList": JS_APIS})


@h5.route("/scan", methods=["GET", "POST"])
def scan():
    """Check in at a station or an event: scan its QR code inside WeChat, or type the code printed under it."""
    result = message = None
    code = request.form.get("code", "").strip()
    if request.method == "POST":
        scene = scene_for_code(db.session, code)
        result = scan_scene(db.session, g.resident, scene or "", utcnow())
        db.session.commit()
        template = SCAN_RESULTS.get(result.code, SCAN_OTHER)
        message = template.format(title=result.title or "本次活动", points=result.points, balance=result.balance)
    status = 200 if result is None or result.ok else 422
    return render_template("h5/scan.html", result=result, message=message, code=code), status
