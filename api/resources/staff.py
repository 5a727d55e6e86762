"""Staff accounts for admins: list, create, assign communities, disable/enable, reset a password."""
from __future__ import annotations

from flask.views import MethodView

from carbon_credit.staff.accounts import (
    assign_communities,
    create_staff,
    get_staff,
    list_staff,
    reset_staff_password,
    set_staff_active,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal, hash_password
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.accounts import (
    CommunityAssignmentSchema,
    PasswordResetSchema,
    ReasonSchema,
    StaffAccountSchema,
    StaffCreateSchema,
    StaffQuerySchema,
)

blp = Blueprint("staff", __name__, url_prefix="/api/v1/staff",
                description="Staff accounts (admins): workers and their communities, disabling, password resets")


def _actor() -> int:
    return current_principal().id


@blp.route("")
class StaffList(MethodView):
    @auth_required("admin")
    @blp.arguments(StaffQuerySchema, location="query")
    @blp.response(200, StaffAccountSchema(many=True))
    def get(self, query):
        """Every staff member, by username; filter by role or active."""
        return list_staff(db.session, role=query["role"], active=query["active"])

    @auth_required("admin")
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffAccountSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="community_not_found")
    @blp.alt_response(409, schema=ErrorSchema, description="username_taken")
    @blp.alt_response(422, schema=ErrorSchema, description="A worker without communities, or a password the "
                                                           "policy refuses (at least 10 characters, not the username)")
    def post(self, body):
        """Add a worker (with their communities) or an admin. Audited."""
        staff = create_staff(db.session, utcnow(), hash_password=hash_password, actor_kind="staff",
                             actor_id=_actor(), **body)
        db.session.commit()
        return staff


@blp.get("/<int:staff_id>")
@auth_required("admin")
@blp.response(200, StaffAccountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="staff_not_found")
def detail(staff_id):
    return get_staff(db.session, staff_id)


@blp.put("/<int:staff_id>/communities")
@auth_required("admin")
@blp.arguments(CommunityAssignmentSchema)
@blp.response(200, StaffAccountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="staff_not_found, community_not_found")
@blp.alt_response(422, schema=ErrorSchema, description="not_a_worker: admins act in every community")
def communities(body, staff_id):
    """Replace a worker's communities; the next request of their tokens already sees the new set. Audited."""
    staff = assign_communities(db.session, utcnow(), staff_id, body["community_ids"], actor_id=_actor())
    db.session.commit()
    return staff


@blp.post("/<int:staff_id>/disable")
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, StaffAccountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="staff_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="staff_already_disabled, cannot_disable_self")
def disable(body, staff_id):
    """Disable an account: it cannot sign in, and its tokens are refused at once on every server. Audited."""
    staff = set_staff_active(db.session, utcnow(), staff_id, False, actor_id=_actor(), reason=body["reason"])
    db.session.commit()
    return staff


@blp.post("/<int:staff_id>/enable")
@auth_required("admin")
@blp.arguments(ReasonSchema)
@blp.response(200, StaffAccountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="staff_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="staff_already_active")
def enable(body, staff_id):
    """Enable a disabled account again; it signs in afresh (earlier tokens stay refused). Audited."""
    staff = set_staff_active(db.session, utcnow(), staff_id, True, actor_id=_actor(), reason=body["reason"])
    db.session.commit()
    return staff


@blp.post("/<int:staff_id>/password")
@auth_required("admin")
@blp.arguments(PasswordResetSchema)
@blp.response(200, StaffAccountSchema)
@blp.alt_response(404, schema=ErrorSchema, description="staff_not_found")
@blp.alt_response(422, schema=ErrorSchema, description="The password breaks the policy")
def reset_password(body, staff_id):
    """Set a staff member's password (forgotten, leaked); their tokens are refused at once. Audited."""
    staff = reset_staff_password(db.session, utcnow(), staff_id, body["new_password"], actor_id=_actor(),
                                 hash_password=hash_password)
    db.session.commit()
    return staff
