"""The partner push API: signed batches of events, answered one result per event."""
from __future__ import annotations

from collections import Counter

from carbon_credit.actions.partner_events import MAX_BATCH, ingest_partner_events
from carbon_credit.timeutil import utcnow

from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..limits import limit_body
from ..partner_auth import SECURITY_SCHEME, current_partner, identity_keys, partner_required
from ..schemas.partners import BatchResultSchema, PartnerBatchSchema

MAX_BODY_BYTES = 2 * 1024 * 1024

blp = Blueprint("partner_events", __name__, url_prefix="/api/v1/partner",
                description="Signed pushes from partners (transit and bike operators, smart bins, kiosks). "
                            "See the README's partner section for the signature with a worked example.")


@blp.record_once
def _document_signature(state):
    spec = state.app.extensions["carbon_host"].api.spec
    if "partnerSignature" not in spec.components.security_schemes:
        spec.components.security_scheme("partnerSignature", SECURITY_SCHEME)


@blp.post("/events")
@limit_body(MAX_BODY_BYTES)
@partner_required
@blp.arguments(PartnerBatchSchema)
@blp.response(200, BatchResultSchema)
@blp.alt_response(413, schema=ErrorSchema, description=f"More than {MAX_BATCH} events (batch_too_large)")
def post_events(body):
    """Push up to 500 events; each is idempotent per (partner, event_id) and answered on its own.

    Statuses: credited, capped, duplicate (already recorded: the first result's points),
    pending_review, rejected (with error.code, e.g. action_type_not_allowed, station_not_allowed,
    unknown_action_type, quantity_out_of_range, time_in_future, missing_field) and unknown_resident.
    A bad event never disturbs the others.
    """
    partner = current_partner()
    results = ingest_partner_events(db.session, partner, body["events"], utcnow(), keys=identity_keys())
    db.session.commit()
    return {"partner_id": partner.id, "counts": dict(Counter(r["status"] for r in results)), "results": results}
