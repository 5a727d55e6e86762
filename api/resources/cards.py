"""A resident's transit cards: bind, list, unbind (``/api/v1/me/cards``)."""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow.validate import Length

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.residents.cards import active_cards, unbind_card
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint

blp = Blueprint("cards", __name__, url_prefix="/api/v1/me/cards", description=(
    "Transit cards of the signed-in resident. Card numbers are never stored: only a keyed hash "
    "(HMAC-SHA256) and the last four digits. The operator's nightly trip file is matched on the hash. "
    "Trips of a card nobody had bound are kept unmatched; binding the card claims its trips of the "
    "claim window (7 days by default, CARD_CLAIM_WINDOW_DAYS): each is credited with the rules in force "
    "at the trip's time and within the caps of that trip's day, oldest first. Older trips are not claimed."))


class CardBindSchema(ma.Schema):
    number = ma.fields.String(required=True, load_only=True, validate=Length(min=1, max=40), metadata={
        "description": "The card number, 8 to 20 digits (spaces and hyphens are ignored)",
        "example": "3101 0000 1234 5678"})


class CardSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    last4 = ma.fields.String(required=True, metadata={"description": "The last four digits, to tell cards apart"})
    bound_at = ma.fields.AwareDateTime(required=True)


class BindResultSchema(ma.Schema):
    card = ma.fields.Nested(CardSchema, required=True)
    created = ma.fields.Boolean(required=True, metadata={"description": "false when the card was already yours"})
    claimed_trips = ma.fields.Integer(required=True, metadata={
        "description": "Unmatched trips of this card within the claim window now yours (capped ones earn 0 points)"})
    claimed_points = ma.fields.Integer(required=True)
    claimed_grams = ma.fields.Integer(required=True)


def _claim_window() -> timedelta:
    return timedelta(days=current_app.config["CARD_CLAIM_WINDOW_DAYS"])


@blp.route("")
class Cards(MethodView):
    @auth_required("resident")
    @blp.response(200, CardSchema(many=True))
    def get(self):
        """The cards currently bound to you."""
        return active_cards(db.session, current_principal().id)

    @auth_required("resident")
    @blp.arguments(CardBindSchema)
    @blp.response(201, BindResultSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Bound to another account (card_already_bound), "
                      "or too many cards (too_many_cards)")
    @blp.alt_response(422, schema=ErrorSchema, description="Not a card number (invalid_card_number)")
    def post(self, body):
        """Bind a card and claim its unmatched trips of the claim window."""
        result = bind_card(db.session, current_principal().id, body["number"], utcnow(),
                           key=current_app.config["CARD_HASH_KEY"], claim_window=_claim_window())
        db.session.commit()
        return result


@blp.route("/<id64:card_id>")
class Card(MethodView):
    @auth_required("resident")
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description="Not one of your cards (card_not_found)")
    @blp.alt_response(409, schema=ErrorSchema, description="Already unbound (card_not_bound)")
    def delete(self, card_id):
        """Unbind a card: credited trips stay; later trips of the card are no longer yours."""
        unbind_card(db.session, current_principal().id, card_id, utcnow())
        db.session.commit()
