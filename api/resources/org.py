"""Streets (街道) and communities (社区): workers see their own, admins all."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import Community, Street

from ..auth import auth_required, current_principal
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.staff import CommunityQuerySchema, CommunitySchema, StreetSchema

blp = Blueprint("org", __name__, url_prefix="/api/v1", description="Streets and communities (staff)")


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
