"""Bodies, queries and responses of the campaign endpoints."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.models.campaigns import CAMPAIGN_STATUSES, QR_KINDS

WINDOW_HELP = "ISO 8601 with an offset; the visible window must contain the active window"


class CampaignBodySchema(ma.Schema):
    """Range checks (multipliers > 1 and ≤ 10, bonus ≤ 1000 …) are the domain's, reported as field errors."""

    title = ma.fields.String(required=True, validate=Length(max=64))
    description = ma.fields.String(validate=Length(max=4000))
    cover_text = ma.fields.String(validate=Length(max=256), metadata={"description": "封面文字, shown in lists"})
    community_ids = ma.fields.List(ma.fields.Integer(), required=True)
    visible_from = ma.fields.AwareDateTime(required=True, metadata={"description": WINDOW_HELP})
    visible_until = ma.fields.AwareDateTime(required=True, metadata={"description": WINDOW_HELP})
    active_from = ma.fields.AwareDateTime(required=True, metadata={"description": "Bonuses and check-ins apply from"})
    active_until = ma.fields.AwareDateTime(required=True, metadata={"description": "… until (exclusive)"})
    action_types = ma.fields.List(ma.fields.String(), metadata={
        "description": "Action types that qualify (enrolment by first action, first-action bonus, figures); "
                       "the multiplied types are added"})
    multipliers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Decimal(as_string=True), metadata={
        "description": "Per action type, > 1 and ≤ 10, e.g. {\"recyclables_dropoff\": \"2\"}"})
    first_action_bonus = ma.fields.Integer(metadata={"description": "Points once per resident, 0–1000"})
    checkin_points = ma.fields.Integer(metadata={"description": "Points per check-in, 0–500 (0: no check-in)"})
    checkin_daily_limit = ma.fields.Integer(metadata={"description": "Check-ins per resident per day, 1–10"})
    checkin_total_limit = ma.fields.Integer(allow_none=True, metadata={"description": "Per resident in all; null: none"})
    checkin_qr = ma.fields.String(allow_none=True, validate=OneOf(QR_KINDS), metadata={
        "description": "Kind of check-in QR to print (POST /api/v1/qrcodes, scene campaign:<id>)"})
    announce_start = ma.fields.Boolean()
    remind_days_before = ma.fields.Integer(allow_none=True, metadata={"description": "1–30; null: no reminder"})
    announce_results = ma.fields.Boolean()


class CampaignSchema(CampaignBodySchema):
    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": " | ".join(CAMPAIGN_STATUSES)})
    summary = ma.fields.String()
    checkin_scene = ma.fields.String(allow_none=True, metadata={"description": "QR scene string, campaign:<id>"})
    multipliers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    created_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    published_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    planned_until = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "Set when the campaign was ended early: the end it was planned with "
                       "(active_until is when it really ended)"})


class CampaignListQuerySchema(ma.Schema):
    status = ma.fields.String(validate=OneOf(CAMPAIGN_STATUSES))
    limit = ma.fields.Integer(load_default=50, validate=Range(1, 200))
    offset = ma.fields.Integer(load_default=0, validate=Range(min=0))


class CancelSchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=Length(max=256))


class EndSchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=Length(max=256),
                              metadata={"description": "Why it ends early (kept in the audit log)"})


class OnSiteCheckinSchema(ma.Schema):
    resident_id = ma.fields.Integer(metadata={"format": "int64"})
    phone = ma.fields.String(validate=Length(max=32))
    card_no = ma.fields.String(validate=Length(max=32))


class CheckinResultSchema(ma.Schema):
    ok = ma.fields.Boolean()
    code = ma.fields.String(metadata={"description": "checked_in"})
    points = ma.fields.Integer()
    balance = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    resident_id = ma.fields.Integer()


class EnrolmentSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    via = ma.fields.String(metadata={"description": "self | action | checkin | worker"})
    enrolled_at = ma.fields.AwareDateTime()
    created = ma.fields.Boolean(metadata={"description": "false when already enrolled"})


class OpenCampaignSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    summary = ma.fields.String()
    description = ma.fields.String()
    status = ma.fields.String()
    active_from = ma.fields.AwareDateTime()
    active_until = ma.fields.AwareDateTime()
    multipliers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    first_action_bonus = ma.fields.Integer()
    checkin_points = ma.fields.Integer()


class CampaignPatchSchema(CampaignBodySchema):
    """Any subset of the body's fields (used with partial=True)."""
