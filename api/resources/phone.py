"""A resident records their phone so a worker can find them on site (stored as a keyed hash)."""
from __future__ import annotations

from flask import current_app

from carbon_credit.residents.accounts import set_phone
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.appliances import PhoneResultSchema, PhoneSchema

blp = Blueprint("phone", __name__, url_prefix="/api/v1/me", description="The resident's phone number")


@blp.put("/phone")
@auth_required("resident")
@blp.arguments(PhoneSchema)
@blp.response(200, PhoneResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The number belongs to another resident (phone_taken)")
def put_phone(body):
    """Set or change the phone; only a keyed hash and the last four digits are kept."""
    resident = set_phone(db.session, current_principal().id, body["phone"], utcnow(),
                         key=current_app.config["PHONE_HASH_KEY"])
    db.session.commit()
    return {"phone_tail": resident.phone_tail}
