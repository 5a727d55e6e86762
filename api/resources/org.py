"""Streets (街道) and communities (社区): workers see their own, admins all."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import Community, Street
from carbon_credit.org.places import (
    create_community,
    create_street,
    get_community,
    move_community,
    rename_community,
    rename_street,
)
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.org import CommunityCreateSchema, CommunityPatchSchema, StreetCreateSchema, StreetPatchSchema
from ..schemas.staff import CommunityQuerySchema, CommunitySchema, StreetSchema

blp = Blueprint("org", __name__, url_prefix="/api/v1", description="Streets and communities (staff); admins create, rename and move them")


def _visible_communities(street_id: int | None = None) -> list[Community]:
    query = select(Community).join(Street).order_by(Street.id, Community.id)
    scope = current_principal().community_ids
    if scope is not None:
        query = query.where(Community.id.in_(scope))
    if street_id is not None:
        query = query.where(Community.street_id == street_id)
    return list(db.session.execute(query).scalars())


@blp.get("/streets")
@auth_required("worker", "admin")
@blp.response(200, StreetSchema(many=True))
def streets():
    """Streets with their communities; a worker sees only the streets and communities they work in."""
    if current_principal().community_ids is None:
        return list(db.session.execute(select(Street).order_by(Street.id)).scalars())
    by_street: dict = {}
    for community in _visible_communities():
        by_street.setdefault(community.street, []).append(community)
    return [{"id": s.id, "name": s.name, "district": s.district, "communities": c} for s, c in by_street.items()]


@blp.get("/communities")
@auth_required("worker", "admin")
@blp.arguments(CommunityQuerySchema, location="query")
@blp.response(200, CommunitySchema(many=True))
def communities(args):
    """Communities with their street; a worker sees only theirs."""
    return _visible_communities(args.get("street_id"))


@blp.post("/streets")
@auth_required("admin")
@blp.arguments(StreetCreateSchema)
@blp.response(201, StreetSchema)
@blp.alt_response(409, schema=ErrorSchema, description="street_name_taken")
def create_street_view(body):
    """Add a street (街道). Audited."""
    street = create_street(db.session, utcnow(), actor_id=current_principal().id, **body)
    db.session.commit()
    return street


@blp.patch("/streets/<int:street_id>")
@auth_required("admin")
@blp.arguments(StreetPatchSchema)
@blp.response(200, StreetSchema)
@blp.alt_response(404, schema=ErrorSchema, description="street_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="street_name_taken")
def rename_street_view(body, street_id):
    """Rename a street. Audited."""
    street = rename_street(db.session, utcnow(), street_id, name=body["name"], actor_id=current_principal().id)
    db.session.commit()
    return street


@blp.post("/communities")
@auth_required("admin")
@blp.arguments(CommunityCreateSchema)
@blp.response(201, CommunitySchema)
@blp.alt_response(404, schema=ErrorSchema, description="street_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="community_name_taken (within the street)")
def create_community_view(body):
    """Add a community (社区) to a street. Audited."""
    community = create_community(db.session, utcnow(), actor_id=current_principal().id, **body)
    db.session.commit()
    return community


@blp.patch("/communities/<int:community_id>")
@auth_required("admin")
@blp.arguments(CommunityPatchSchema)
@blp.response(200, CommunitySchema)
@blp.alt_response(404, schema=ErrorSchema, description="community_not_found, street_not_found")
@blp.alt_response(409, schema=ErrorSchema, description="community_name_taken (within the street)")
def change_community_view(body, community_id):
    """Rename a community and/or move it to another street; its residents and history move with it. Audited."""
    actor = current_principal().id
    community = get_community(db.session, community_id)
    if "name" in body:
        community = rename_community(db.session, utcnow(), community_id, name=body["name"], actor_id=actor)
    if "street_id" in body and body["street_id"] != community.street_id:
        community = move_community(db.session, utcnow(), community_id, street_id=body["street_id"], actor_id=actor)
    db.session.commit()
    return community
