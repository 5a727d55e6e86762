"""Check-in QR codes of stations and campaigns, for staff to print."""
from __future__ import annotations

import requests
from flask.views import MethodView
from wechatpy.exceptions import WeChatClientException

from bot.outbound.client import WeChatNotConfigured, describe_error, get_client
from bot.outbound.qr_targets import qrcode_for_request, resolve_qr_request, stored_qrcode_for_target
from bot.outbound.qrcodes import image_url
from carbon_credit.errors import DomainError
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.qrcodes import QRCodeBodySchema, QRCodeQuerySchema, QRCodeSchema

blp = Blueprint("qrcodes", __name__, url_prefix="/api/v1/qrcodes", description="Check-in QR codes")


class WeChatApiError(DomainError):
    code = "wechat_api_error"
    status = 502
    message = "WeChat refused the request."


class WeChatApiNotConfigured(DomainError):
    code = "wechat_not_configured"
    status = 503
    message = "WECHAT_APPID and WECHAT_SECRET are not set on this server."


def _dump(code, created: bool) -> dict:
    return {**{c: getattr(code, c) for c in ("id", "scene", "kind", "ticket", "url", "expire_seconds", "expires_at",
                                               "created_at")},
            "image_url": image_url(code.ticket), "created": created}


def _client():
    try:
        return get_client()
    except WeChatNotConfigured as exc:
        raise WeChatApiNotConfigured() from exc


@blp.route("")
class QRCodes(MethodView):
    @auth_required("admin", "worker")
    @blp.arguments(QRCodeQuerySchema, location="query")
    @blp.response(200, QRCodeSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such target, or no valid code stored for it")
    def get(self, query):
        """The stored code of a station or campaign (a worker: only their communities')."""
        code = stored_qrcode_for_target(db.session, query["target_type"], query["target_id"], utcnow(),
                                        community_ids=current_principal().community_ids)
        return _dump(code, False)

    @auth_required("admin", "worker")
    @blp.arguments(QRCodeBodySchema)
    @blp.response(200, QRCodeSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such station or campaign (or outside the worker's communities)")
    @blp.alt_response(502, schema=ErrorSchema, description="WeChat refused or could not be reached (code wechat_api_error)")
    @blp.alt_response(503, schema=ErrorSchema, description="WECHAT_APPID and WECHAT_SECRET are not set (code wechat_not_configured)")
    def post(self, body):
        """Create the code at WeChat, or hand out the stored one while it stays valid."""
        principal = current_principal()
        qr_request = resolve_qr_request(db.session, body["target_type"], body["target_id"], days=body["days"],
                                     community_ids=principal.community_ids)
        client = _client()
        db.session.commit()  # end the read transaction before the token store may write (SQLite)
        try:
            code, created = qrcode_for_request(db.session, client, qr_request, utcnow(),
                                               staff_id=principal.id if principal.kind == "staff" else None)
        except (WeChatClientException, requests.RequestException) as exc:
            raise WeChatApiError(describe_error(exc), errors={"wechat": [str(getattr(exc, "errcode", ""))]}) from exc
        db.session.commit()
        return _dump(code, created)
