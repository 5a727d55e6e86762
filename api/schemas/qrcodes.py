"""Schemas of the QR-code resource: query, body and response kept apart."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from bot.outbound.qr_targets import QR_TARGETS

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
    image_url = fields.String(metadata={"description": "WeChat's picture of the code"})
    expire_seconds = fields.Integer(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    created = fields.Boolean(metadata={"description": "False when a stored, still valid code was handed out"})
