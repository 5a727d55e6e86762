"""The API resource for check-in QR codes of stations and campaigns, for staff to print.

The bot builds it with the host's building blocks (``api.host.Host``: sign-in
decorator, the principal, the error envelope) and registers it on the host's
flask-smorest Api, so it appears in the same OpenAPI document as every resource.
"""
from __future__ import annotations

import requests
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from wechatpy.exceptions import WeChatClientException

from carbon_credit.errors import WeChatApiError
from carbon_credit.timeutil import utcnow

from ..database import db
from .client import describe_error, get_client
from .qr_targets import QR_TARGETS, qrcode_for_request, resolve_qr_request, stored_qrcode_for_target
from .qrcodes import image_url

TARGET_TYPES = validate.OneOf(sorted(QR_TARGETS))


class QRCodeQuerySchema(Schema):
    target_type = fields.String(required=True, validate=TARGET_TYPES)
    target_id = fields.Integer(required=True, validate=validate.Range(min=1))


class QRCodeBodySchema(Schema):
    target_type = fields.String(required=True, validate=TARGET_TYPES,
                                metadata={"description": "station (permanent code) or campaign (temporary code)"})
    target_id = fields.Integer(required=True, validate=validate.Range(min=1))
    days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=30),
                          metadata={"description": "Campaign codes only: days valid, 1-30 (default 30)"})


class QRCodeSchema(Schema):
    id = fields.Integer()
    scene = fields.String(metadata={"description": "station:<id> or campaign:<id>"})
    kind = fields.String(metadata={"description": "permanent or temporary"})
    ticket = fields.String()
    url = fields.String(metadata={"description": "What the code encodes (to draw it yourself)"})
    image_url = fields.String(allow_none=True, metadata={"description": "WeChat's picture of the code (null offline)"})
    offline = fields.Boolean(metadata={
        "description": "Recorded by a server that does not call WeChat (WECHAT_OFFLINE): url is the scene itself"})
    expire_seconds = fields.Integer(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    created = fields.Boolean(metadata={"description": "False when a stored, still valid code was handed out"})


def _dump(code, created: bool) -> dict:
    return {**{c: getattr(code, c) for c in ("id", "scene", "kind", "ticket", "url", "expire_seconds", "expires_at",
                                               "created_at", "offline")},
            "image_url": None if code.offline else image_url(code.ticket), "created": created}


def build_blueprint(host):
    """The ``qrcodes`` resource at /api/v1/qrcodes, guarded by the host's sign-in, its arguments bounded
    by the host's parser like every resource's."""
    blp = host.blueprint("qrcodes", __name__, url_prefix="/api/v1/qrcodes", description="Check-in QR codes")
    auth_required, current_principal, error_schema = host.auth_required, host.current_principal, host.error_schema

    @blp.route("")
    class QRCodes(MethodView):
        @auth_required("admin", "worker")
        @blp.arguments(QRCodeQuerySchema, location="query")
        @blp.response(200, QRCodeSchema)
        @blp.alt_response(404, schema=error_schema, description="No such target, or no valid code stored for it")
        def get(self, query):
            """The stored code of a station or campaign (a worker: only their communities')."""
            code = stored_qrcode_for_target(db.session, query["target_type"], query["target_id"], utcnow(),
                                            community_ids=current_principal().community_ids)
            return _dump(code, False)

        @auth_required("admin", "worker")
        @blp.arguments(QRCodeBodySchema)
        @blp.response(200, QRCodeSchema)
        @blp.alt_response(404, schema=error_schema, description="No such station or campaign (or outside the worker's communities)")
        @blp.alt_response(502, schema=error_schema, description="WeChat refused or could not be reached (code wechat_api_error)")
        @blp.alt_response(503, schema=error_schema, description="WECHAT_APPID and WECHAT_SECRET are not set (code wechat_not_configured)")
        def post(self, body):
            """Create the code at WeChat, or hand out the stored one while it stays valid."""
            principal = current_principal()
            qr_request = resolve_qr_request(db.session, body["target_type"], body["target_id"], days=body["days"],
                                            community_ids=principal.community_ids)
            client = get_client()
            db.session.commit()  # end the read transaction before the token store may write (SQLite)
            try:
                code, created = qrcode_for_request(db.session, client, qr_request, utcnow(),
                                                   staff_id=principal.id if principal.kind == "staff" else None)
            except (WeChatClientException, requests.RequestException) as exc:
                raise WeChatApiError(describe_error(exc),
                                     errors={"wechat": [str(getattr(exc, "errcode", ""))]}) from exc
            db.session.commit()
            return _dump(code, created)

    return blp
