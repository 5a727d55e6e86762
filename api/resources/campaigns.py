"""Campaigns: workers and admins make and run them; residents see and join them.

Bonuses stack in the rules engine's order: the base rule's points, then every
applicable campaign multiplier multiplies in turn (two campaigns ×2 and ×1.5
give ×3), then one-off bonuses (the first-action bonus) add, then the points
caps may clip the result; amounts are rounded down. A campaign applies to an
action of a resident of one of its communities, of a matching action type,
occurring inside its active window (``active_from ≤ t < active_until``) while
it is published, running or ended (late data from inside the window still
counts); drafts and cancelled campaigns never apply. Each credit's trace lists
the adjustments with the campaign id.

States: draft → published → running → ended (by the clock, job
``advance_campaigns``, or early by ``POST …/end``), and cancelled from any
state before ended; any other move answers 409 ``invalid_transition``.
Ending early closes the active window at that moment (``planned_until`` keeps
the planned end): from then on no bonus, check-in or enrolment, while every
credit already given stays. Communities, windows and bonus rules
change only while draft (409 ``campaign_not_draft``).
"""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from carbon_credit.actions.campaign_checkins import check_in_on_site
from carbon_credit.campaigns import (
    cancel_campaign,
    check_access,
    check_readable,
    create_campaign,
    end_campaign,
    enrol_resident,
    get_campaign,
    list_campaigns,
    open_campaigns_for,
    publish_campaign,
    update_campaign,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.campaigns import (
    CampaignBodySchema,
    CampaignListQuerySchema,
    CampaignPatchSchema,
    CampaignSchema,
    CancelSchema,
    CheckinResultSchema,
    EndSchema,
    EnrolmentSchema,
    OnSiteCheckinSchema,
    OpenCampaignSchema,
)

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description=__doc__)
STAFF = ("admin", "worker")


def _scope():
    principal = current_principal()
    return principal.id, principal.community_ids


def _readable(campaign_id: int):
    """A worker reads campaigns reaching at least one of their communities; others answer 404."""
    return check_readable(get_campaign(db.session, campaign_id), _scope()[1])


@blp.route("/campaigns")
class Campaigns(MethodView):
    @auth_required(*STAFF)
    @blp.arguments(CampaignListQuerySchema, location="query")
    @blp.response(200, CampaignSchema(many=True))
    def get(self, query):
        """Campaigns, newest first: admins all, workers those reaching their communities."""
        return list_campaigns(db.session, community_ids=_scope()[1], **query)

    @auth_required(*STAFF)
    @blp.arguments(CampaignBodySchema)
    @blp.response(201, CampaignSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid settings (code campaign_invalid, field errors)")
    def post(self, body):
        """Create a draft campaign; a worker targets only their own communities."""
        actor_id, scope = _scope()
        campaign = create_campaign(db.session, body, utcnow(), actor_id=actor_id, allowed_community_ids=scope)
        db.session.commit()
        return campaign


@blp.route("/campaigns/<int:campaign_id>")
class CampaignItem(MethodView):
    @auth_required(*STAFF)
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        return _readable(campaign_id)

    @auth_required(*STAFF)
    @blp.arguments(CampaignPatchSchema(partial=True))
    @blp.response(200, CampaignSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Structural change after publishing (campaign_not_draft)")
    def patch(self, changes, campaign_id):
        """Edit a draft; after publishing only title, description and cover text."""
        actor_id, scope = _scope()
        campaign = update_campaign(db.session, campaign_id, changes, utcnow(), actor_id=actor_id,
                                   allowed_community_ids=scope)
        db.session.commit()
        return campaign


@blp.post("/campaigns/<int:campaign_id>/publish")
@auth_required(*STAFF)
@blp.response(200, CampaignSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not a draft (invalid_transition) or already over")
def publish(campaign_id):
    """Publish a draft; inside its active window it is running at once."""
    actor_id, scope = _scope()
    campaign = publish_campaign(db.session, campaign_id, utcnow(), actor_id=actor_id, allowed_community_ids=scope)
    db.session.commit()
    return campaign


@blp.post("/campaigns/<int:campaign_id>/cancel")
@auth_required(*STAFF)
@blp.arguments(CancelSchema)
@blp.response(200, CampaignSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Already ended or cancelled (invalid_transition)")
def cancel(body, campaign_id):
    actor_id, scope = _scope()
    campaign = cancel_campaign(db.session, campaign_id, utcnow(), actor_id=actor_id, allowed_community_ids=scope,
                               reason=body["reason"])
    db.session.commit()
    return campaign


@blp.post("/campaigns/<int:campaign_id>/end")
@auth_required(*STAFF)
@blp.arguments(EndSchema)
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="No such campaign, or not all its communities are the worker's (campaign_not_found)")
@blp.alt_response(409, schema=ErrorSchema,
                  description="Not running: not started yet (campaign_not_started; cancel it instead), "
                              "or already ended or cancelled (invalid_transition)")
def end(body, campaign_id):
    """End a running campaign now, before its planned end; credits already given stay."""
    actor_id, scope = _scope()
    campaign = end_campaign(db.session, campaign_id, utcnow(), actor_id=actor_id, allowed_community_ids=scope,
                            reason=body["reason"])
    db.session.commit()
    return campaign


@blp.post("/campaigns/<int:campaign_id>/check-ins")
@auth_required(*STAFF)
@blp.arguments(OnSiteCheckinSchema)
@blp.response(201, CheckinResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not open now, or the resident's limit is reached")
@blp.alt_response(422, schema=ErrorSchema, description="No single identifier, look-up unavailable, or outside the communities")
def check_in_resident(body, campaign_id):
    """Check in a resident without a phone on site, named by resident_id, phone or card_no."""
    actor_id, scope = _scope()
    check_access(_readable(campaign_id), scope)
    keys = {"card": current_app.config.get("CARD_HASH_KEY"), "phone": current_app.config.get("PHONE_HASH_KEY")}
    result = check_in_on_site(db.session, campaign_id, body, utcnow(), staff_id=actor_id, keys=keys, scope=scope)
    db.session.commit()
    return {**vars(result), "resident_id": result.detail.get("resident_id")}


@blp.get("/me/campaigns")
@auth_required("resident")
@blp.response(200, OpenCampaignSchema(many=True))
def my_campaigns():
    """Campaigns open to me now."""
    return open_campaigns_for(db.session, current_principal().obj, utcnow())


@blp.post("/me/campaigns/<int:campaign_id>/enrolment")
@auth_required("resident")
@blp.response(200, EnrolmentSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is not open (campaign_not_open)")
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign for my community (campaign_not_found)")
def enrol(campaign_id):
    """Join a campaign (joining twice answers the first enrolment)."""
    enrolment, created = enrol_resident(db.session, campaign_id, current_principal().obj, utcnow())
    db.session.commit()
    return {"campaign_id": enrolment.campaign_id, "via": enrolment.via, "enrolled_at": enrolment.enrolled_at,
            "created": created}
