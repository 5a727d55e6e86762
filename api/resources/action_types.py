"""Action types: every signed-in user reads them; admins add and change them."""
from __future__ import annotations

from carbon_credit.actions.types import create_action_type, list_action_types, update_action_type
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.rules import ActionTypeCreateSchema, ActionTypePatchSchema, ActionTypeSchema

blp = Blueprint("action_types", __name__, url_prefix="/api/v1/action-types",
                description="Action types (read: everyone signed in; change: admins)")


@blp.get("")
@auth_required()
@blp.response(200, ActionTypeSchema(many=True))
def index():
    """All action types; residents may declare those with `self_report` true."""
    return list_action_types(db.session)


@blp.post("")
@auth_required("admin")
@blp.arguments(ActionTypeCreateSchema)
@blp.response(201, ActionTypeSchema)
@blp.alt_response(409, schema=ErrorSchema, description="action_type_exists")
def create(body):
    """Add an action type. It earns nothing until a rule-set version with a rule for it is active."""
    action_type = create_action_type(db.session, body, utcnow(), actor_id=current_principal().id)
    db.session.commit()
    return action_type


@blp.patch("/<code>")
@auth_required("admin")
@blp.arguments(ActionTypePatchSchema)
@blp.response(200, ActionTypeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="action_type_not_found")
def update(changes, code):
    """Rename, (de)activate, require review, allow self-declaring, describe. Audited with before and after."""
    action_type = update_action_type(db.session, code, changes, utcnow(), actor_id=current_principal().id)
    db.session.commit()
    return action_type
