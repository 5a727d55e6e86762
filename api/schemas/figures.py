"""Queries and responses of the figures and leaderboard endpoints."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import OneOf, Range

from carbon_credit.reporting.exports import FORMATS
from carbon_credit.reporting.figures import GROUPS
from carbon_credit.reporting.leaderboards import STREET_ORDERS

from .common import MONTH

FORMAT_HELP = "json (default), csv (UTF-8 with BOM) or xlsx: a download for the street office"


class _Export(ma.Schema):
    format = ma.fields.String(load_default="json", validate=OneOf(("json", *FORMATS)), metadata={"description": FORMAT_HELP})


class CommunityFiguresQuerySchema(_Export):
    from_ = ma.fields.Date(data_key="from", load_default=None, metadata={"description": "Shanghai date, inclusive"})
    to = ma.fields.Date(load_default=None, metadata={"description": "Shanghai date, inclusive (default today)"})
    group = ma.fields.String(load_default="day", validate=OneOf(GROUPS))


class CampaignFiguresQuerySchema(_Export):
    group = ma.fields.String(load_default="day", validate=OneOf(GROUPS))


class CommunityBoardQuerySchema(_Export):
    month = ma.fields.String(load_default=None, validate=MONTH, metadata={"description": "YYYY-MM (default this month)"})
    limit = ma.fields.Integer(load_default=100, validate=Range(1, 1000))


class StreetBoardQuerySchema(_Export):
    month = ma.fields.String(load_default=None, validate=MONTH, metadata={"description": "YYYY-MM (default this month)"})
    by = ma.fields.String(load_default="points", validate=OneOf(STREET_ORDERS), metadata={
        "description": "points: points credited; grams_per_participant: grams ÷ residents with a credit"})


class CategorySchema(ma.Schema):
    category = ma.fields.String()
    actions = ma.fields.Integer()
    grams = ma.fields.Integer()
    points = ma.fields.Integer()


class PeriodSchema(ma.Schema):
    period = ma.fields.String(metadata={"description": "2026-06-05, or ISO week 2026-W23"})
    participants = ma.fields.Integer()
    actions = ma.fields.Integer()
    grams = ma.fields.Integer()
    points = ma.fields.Integer()
    grams_by_category = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class _Totals(ma.Schema):
    group = ma.fields.String()
    participants = ma.fields.Integer()
    actions = ma.fields.Integer()
    grams = ma.fields.Integer(metadata={"description": "grams CO2e credited"})
    points = ma.fields.Integer()
    by_category = ma.fields.List(ma.fields.Nested(CategorySchema))
    series = ma.fields.List(ma.fields.Nested(PeriodSchema))


class CommunityFiguresSchema(_Totals):
    community_id = ma.fields.Integer()
    community = ma.fields.String()
    street = ma.fields.String()
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()


class CommunityPartSchema(ma.Schema):
    community_id = ma.fields.Integer()
    community = ma.fields.String()
    participants = ma.fields.Integer()
    actions = ma.fields.Integer()
    grams = ma.fields.Integer()
    points = ma.fields.Integer()


class CampaignFiguresSchema(_Totals):
    campaign_id = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String()
    active_from = ma.fields.AwareDateTime()
    active_until = ma.fields.AwareDateTime()
    enrolled = ma.fields.Integer()
    checkins = ma.fields.Integer()
    checkin_points = ma.fields.Integer()
    checkin_participants = ma.fields.Integer()
    by_community = ma.fields.List(ma.fields.Nested(CommunityPartSchema))


class ResidentRowSchema(ma.Schema):
    rank = ma.fields.Integer()
    name = ma.fields.String(metadata={"description": "masked: 张*明 or 居民****1234"})
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    reached_at = ma.fields.AwareDateTime(metadata={"description": "when the total was reached (ties)"})


class CommunityBoardSchema(ma.Schema):
    community_id = ma.fields.Integer()
    month = ma.fields.String()
    rows = ma.fields.List(ma.fields.Nested(ResidentRowSchema))


class CommunityRowSchema(ma.Schema):
    rank = ma.fields.Integer()
    community_id = ma.fields.Integer()
    name = ma.fields.String()
    participants = ma.fields.Integer()
    points = ma.fields.Integer()
    grams = ma.fields.Integer()
    grams_per_participant = ma.fields.Integer()
    reached_at = ma.fields.AwareDateTime(allow_none=True)


class StreetBoardSchema(ma.Schema):
    street_id = ma.fields.Integer()
    month = ma.fields.String()
    by = ma.fields.String()
    rows = ma.fields.List(ma.fields.Nested(CommunityRowSchema))
