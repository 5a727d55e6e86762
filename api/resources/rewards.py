"""Rewards: the catalogue (staff), what residents can redeem, redemptions and vouchers."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from carbon_credit.rewards.catalogue import (
    create_reward,
    get_reward,
    list_rewards,
    offered_rewards,
    update_reward,
)
from carbon_credit.rewards.redemptions import cancel_redemption, list_redemptions, redeem_reward, use_voucher
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..idempotency import idempotency_key_required
from ..inputs import Blueprint
from ..schemas.rewards import (
    CancelBodySchema,
    OfferedRewardSchema,
    RedeemBodySchema,
    RedemptionQuerySchema,
    RedemptionSchema,
    RewardBodySchema,
    RewardListQuerySchema,
    RewardPatchSchema,
    RewardSchema,
    VoucherUseSchema,
)

blp = Blueprint("rewards", __name__, url_prefix="/api/v1", description="Rewards, redemptions and vouchers")
STAFF = ("admin", "worker")


def _staff():
    principal = current_principal()
    return principal.id, principal.community_ids


@blp.route("/rewards")
class Rewards(MethodView):
    @auth_required(*STAFF)
    @blp.arguments(RewardListQuerySchema, location="query")
    @blp.response(200, RewardSchema(many=True))
    def get(self, query):
        """The catalogue: admins all of it, workers what is offered to their communities or to all."""
        rewards = list_rewards(db.session, _staff()[1])
        return [r for r in rewards if query["active"] is None or r.active == query["active"]]

    @auth_required(*STAFF)
    @blp.arguments(RewardBodySchema)
    @blp.response(201, RewardSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid reward (negative stock, window ending before it starts)")
    def post(self, body):
        """Add a reward; a worker offers it to some of their own communities."""
        actor_id, scope = _staff()
        reward = create_reward(db.session, utcnow(), actor_id=actor_id, scope=scope, **body)
        db.session.commit()
        return reward


@blp.route("/rewards/<int:reward_id>")
class RewardItem(MethodView):
    @auth_required(*STAFF)
    @blp.response(200, RewardSchema)
    def get(self, reward_id):
        return get_reward(db.session, reward_id, _staff()[1])

    @auth_required(*STAFF)
    @blp.arguments(RewardPatchSchema(partial=True))
    @blp.response(200, RewardSchema)
    def patch(self, changes, reward_id):
        """Change a reward (stock, window, cost…); ``active: false`` withdraws it."""
        actor_id, scope = _staff()
        reward = update_reward(db.session, reward_id, changes, utcnow(), actor_id=actor_id, scope=scope)
        db.session.commit()
        return reward


@blp.get("/me/rewards")
@auth_required("resident")
@blp.response(200, OfferedRewardSchema(many=True))
def my_rewards():
    """Rewards offered to me now, cheapest first."""
    rows = offered_rewards(db.session, current_principal().obj, utcnow())
    return [_offered(reward, held) for reward, held in rows]


def _offered(reward, held: int) -> dict:
    under_limit = reward.per_resident_limit is None or held < reward.per_resident_limit
    fields = {name: getattr(reward, name) for name in RewardSchema().fields}
    return {**fields, "held": held, "redeemable": reward.stock > 0 and under_limit}


@blp.route("/me/redemptions")
class MyRedemptions(MethodView):
    @auth_required("resident")
    @blp.response(200, RedemptionSchema(many=True))
    def get(self):
        """My redemptions, newest first."""
        return list_redemptions(db.session, resident_id=current_principal().id)

    @auth_required("resident")
    @idempotency_key_required
    @blp.arguments(RedeemBodySchema)
    @blp.response(201, RedemptionSchema)
    @blp.alt_response(200, schema=RedemptionSchema, description="A retry with the same Idempotency-Key")
    @blp.alt_response(422, schema=ErrorSchema, description="validation_error (a missing or malformed "
                      "Idempotency-Key among the fields)")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="insufficient_points, out_of_stock, redemption_limit_reached, reward_not_available")
    def post(self, body):
        """Redeem a reward: spends its points (oldest first) and issues a voucher code."""
        redemption, created = redeem_reward(db.session, current_principal().id, body["reward_id"], utcnow(),
                                            idempotency_key=g.idempotency_key)
        db.session.commit()
        return redemption, 201 if created else 200


@blp.post("/me/redemptions/<id64:redemption_id>/cancel")
@auth_required("resident")
@blp.response(200, RedemptionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Already used or cancelled")
def cancel_mine(redemption_id):
    """Cancel my unused redemption: the points come back as a fresh lot."""
    redemption = cancel_redemption(db.session, redemption_id, utcnow(), resident_id=current_principal().id)
    db.session.commit()
    return redemption


@blp.get("/redemptions")
@auth_required(*STAFF)
@blp.arguments(RedemptionQuerySchema, location="query")
@blp.response(200, RedemptionSchema(many=True))
def staff_redemptions(query):
    """Redemptions in my area (admins: all), newest first."""
    return list_redemptions(db.session, reward_id=query["reward_id"], status=query["status"],
                            scope=_staff()[1], limit=query["limit"])


@blp.post("/redemptions/<id64:redemption_id>/cancel")
@auth_required(*STAFF)
@blp.arguments(CancelBodySchema)
@blp.response(200, RedemptionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Already used or cancelled")
def staff_cancel(body, redemption_id):
    """Cancel a resident's unused redemption (refund and stock back); audited."""
    actor_id, scope = _staff()
    redemption = cancel_redemption(db.session, redemption_id, utcnow(), actor_id=actor_id, scope=scope,
                                   reason=body["reason"])
    db.session.commit()
    return redemption


@blp.post("/vouchers/use")
@auth_required(*STAFF)
@blp.arguments(VoucherUseSchema)
@blp.response(200, RedemptionSchema)
@blp.alt_response(404, schema=ErrorSchema, description="voucher_not_found (or outside my communities)")
@blp.alt_response(409, schema=ErrorSchema, description="voucher_already_used or redemption_cancelled")
def use(body):
    """Mark a voucher used at the counter (rewards of my communities only).

    The code travels in the body, never in the URL, so proxies and access logs do not keep it.
    """
    actor_id, scope = _staff()
    redemption = use_voucher(db.session, body["code"], utcnow(), actor_id=actor_id, scope=scope)
    db.session.commit()
    return redemption
