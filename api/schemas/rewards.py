"""Bodies, query arguments and responses of the rewards, redemptions and vouchers endpoints."""
from __future__ import annotations

import marshmallow as ma
from marshmallow.validate import Length, OneOf, Range

from carbon_credit.models.rewards import REDEMPTION_STATUSES, REWARD_KINDS
from carbon_credit.timeutil import TZ


def _when(**kw):
    # Times without an offset are read as Shanghai local time.
    return ma.fields.AwareDateTime(default_timezone=TZ, **kw)


class RewardBodySchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=OneOf(REWARD_KINDS),
                            metadata={"description": "coupon | transit_credit | goods | donation (e.g. tree planting)"})
    title = ma.fields.String(required=True, validate=Length(min=1, max=96))
    description = ma.fields.String(load_default="", validate=Length(max=2000))
    points_cost = ma.fields.Integer(required=True, strict=True, validate=Range(min=1))
    stock = ma.fields.Integer(required=True, strict=True, validate=Range(min=0))
    per_resident_limit = ma.fields.Integer(load_default=None, allow_none=True, strict=True, validate=Range(min=1),
                                           metadata={"description": "How many one resident may hold; null: no limit"})
    visible_from = _when(required=True)
    visible_until = _when(required=True)
    community_ids = ma.fields.List(ma.fields.Integer(strict=True), load_default=list,
                                   metadata={"description": "Communities it is offered to; empty: all (admins only)"})

    @ma.validates_schema
    def window(self, data, **kwargs):
        start, end = data.get("visible_from"), data.get("visible_until")
        if start and end and end <= start:
            raise ma.ValidationError("must be after visible_from", "visible_until")


class RewardPatchSchema(RewardBodySchema):
    """Any subset of the fields (load with ``partial=True``); ``active: false`` withdraws the reward."""

    active = ma.fields.Boolean()


class RewardSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    points_cost = ma.fields.Integer()
    stock = ma.fields.Integer()
    per_resident_limit = ma.fields.Integer(allow_none=True)
    visible_from = ma.fields.AwareDateTime()
    visible_until = ma.fields.AwareDateTime()
    active = ma.fields.Boolean()
    community_ids = ma.fields.List(ma.fields.Integer())


class OfferedRewardSchema(RewardSchema):
    held = ma.fields.Integer(metadata={"description": "Redemptions of it the resident holds (not cancelled)"})
    redeemable = ma.fields.Boolean(metadata={"description": "In stock and under the resident's limit"})


class RewardListQuerySchema(ma.Schema):
    active = ma.fields.Boolean(load_default=None, allow_none=True)


class RedeemBodySchema(ma.Schema):
    reward_id = ma.fields.Integer(required=True, strict=True)


class RedemptionSchema(ma.Schema):
    id = ma.fields.Integer()
    reward_id = ma.fields.Integer()
    reward_title = ma.fields.Function(lambda r: r.reward.title)
    resident_id = ma.fields.Integer()
    points = ma.fields.Integer()
    voucher_code = ma.fields.String()
    status = ma.fields.String(metadata={"description": "issued | used | cancelled"})
    created_at = ma.fields.AwareDateTime()
    used_at = ma.fields.AwareDateTime(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)


class RedemptionQuerySchema(ma.Schema):
    reward_id = ma.fields.Integer(load_default=None)
    status = ma.fields.String(load_default=None, validate=OneOf(REDEMPTION_STATUSES))
    limit = ma.fields.Integer(load_default=100, validate=Range(min=1, max=500))


class VoucherUseSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=Length(min=1, max=32),
                            metadata={"description": "The voucher code the resident shows (spaces and case ignored)"})


class CancelBodySchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=Length(max=256))
