"""Stations (admins: all; workers: their communities) and weigh-ins recorded on site by workers."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from carbon_credit.actions.weighins import record_worker_weigh_in
from carbon_credit.org.stations import create_station, get_station, list_stations, update_station
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..idempotency import idempotency_key_required
from ..inputs import Blueprint
from ..partner_auth import identity_keys
from ..schemas.stations import (
    RecordedActionSchema,
    StationCreateSchema,
    StationQuerySchema,
    StationSchema,
    StationUpdateSchema,
    WeighInSchema,
)

blp = Blueprint("stations", __name__, url_prefix="/api/v1/stations",
                description="Waste-sorting and recycling stations and their weigh-ins")


def recorded_view(result) -> dict:
    action, credit = result.action, result.action.credit
    return {"action_id": action.id, "action_type": action.action_type, "status": action.status,
            "quantity": action.quantity, "unit": action.unit, "points": credit.points if credit else 0,
            "grams": credit.grams if credit else 0, "replayed": not result.created}


@blp.route("")
class Stations(MethodView):
    @auth_required("worker", "admin")
    @blp.arguments(StationQuerySchema, location="query")
    @blp.response(200, StationSchema(many=True))
    def get(self, args):
        """Stations the caller may manage."""
        return list_stations(db.session, scope=current_principal().community_ids, **args)

    @auth_required("worker", "admin")
    @blp.arguments(StationCreateSchema)
    @blp.response(201, StationSchema)
    @blp.alt_response(422, schema=ErrorSchema, description="Unknown community (or outside the worker's area)")
    def post(self, body):
        principal = current_principal()
        station = create_station(db.session, body, utcnow(), scope=principal.community_ids, actor_id=principal.id)
        db.session.commit()
        return station


@blp.route("/<int:station_id>")
class StationItem(MethodView):
    @auth_required("worker", "admin")
    @blp.response(200, StationSchema)
    def get(self, station_id):
        return get_station(db.session, station_id, current_principal().community_ids)

    @auth_required("worker", "admin")
    @blp.arguments(StationUpdateSchema)
    @blp.response(200, StationSchema)
    def patch(self, body, station_id):
        principal = current_principal()
        station = update_station(db.session, station_id, body, utcnow(), scope=principal.community_ids,
                                 actor_id=principal.id)
        db.session.commit()
        return station


@blp.post("/<int:station_id>/weigh-ins")
@auth_required("worker", "admin")
@idempotency_key_required
@blp.arguments(WeighInSchema)
@blp.response(201, RecordedActionSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Idempotency-Key reused for another weigh-in")
def weigh_in(body, station_id):
    """Record a resident's drop-off weighed on site (evidence: worker). Retries repeat the Idempotency-Key."""
    principal = current_principal()
    resident = {k: body.pop(k) for k in ("phone", "card_no", "resident_id") if body.get(k) not in (None, "")}
    result = record_worker_weigh_in(db.session, station_id, {**body, "resident": resident}, utcnow(),
                                    staff_id=principal.id, scope=principal.community_ids, keys=identity_keys(),
                                    idempotency_key=g.idempotency_key)
    db.session.commit()
    return recorded_view(result)
