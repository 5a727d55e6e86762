"""Admins register partners, change what they may send, and rotate their keys."""
from __future__ import annotations

from flask.views import MethodView

from carbon_credit.partners.keys import (
    create_partner,
    get_partner,
    list_partners,
    partner_station_ids,
    rotate_partner_key,
    update_partner,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..partner_auth import partner_cipher
from ..schemas.partners import IssuedKeySchema, PartnerCreateSchema, PartnerSchema, PartnerUpdateSchema

blp = Blueprint("partners", __name__, url_prefix="/api/v1/partners",
                description="Partners that push data (admins only). Keys are shown once.")


def _view(partner, secret=None) -> dict:
    view = {name: getattr(partner, name) for name in ("id", "name", "kind", "action_types", "active", "key_id",
                                                      "key_issued_at", "created_at", "updated_at")}
    view["station_ids"] = partner_station_ids(db.session, partner.id)
    if secret is not None:
        view["secret"] = secret
    return view


@blp.route("")
class Partners(MethodView):
    @auth_required("admin")
    @blp.response(200, PartnerSchema(many=True))
    def get(self):
        """Every partner, without secrets."""
        return [_view(p) for p in list_partners(db.session)]

    @auth_required("admin")
    @blp.arguments(PartnerCreateSchema)
    @blp.response(201, IssuedKeySchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Name taken (partner_name_taken)")
    def post(self, body):
        """Register a partner; the response carries its key id and secret, shown this once."""
        issued = create_partner(db.session, body, utcnow(), cipher=partner_cipher(), actor_id=current_principal().id)
        db.session.commit()
        return _view(issued.partner, issued.secret)


@blp.route("/<int:partner_id>")
class PartnerItem(MethodView):
    @auth_required("admin")
    @blp.response(200, PartnerSchema)
    def get(self, partner_id):
        return _view(get_partner(db.session, partner_id))

    @auth_required("admin")
    @blp.arguments(PartnerUpdateSchema)
    @blp.response(200, PartnerSchema)
    def patch(self, body, partner_id):
        """Change name, kind, allowed action types, stations or deactivate (audited)."""
        partner = update_partner(db.session, partner_id, body, utcnow(), actor_id=current_principal().id)
        db.session.commit()
        return _view(partner)


@blp.post("/<int:partner_id>/rotate-key")
@auth_required("admin")
@blp.response(200, IssuedKeySchema)
def rotate_key(partner_id):
    """Issue a new key id and secret (shown this once); the old key stops working at once."""
    issued = rotate_partner_key(db.session, partner_id, utcnow(), cipher=partner_cipher(),
                                actor_id=current_principal().id)
    db.session.commit()
    return _view(issued.partner, issued.secret)
