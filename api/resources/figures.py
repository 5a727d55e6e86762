"""Community and campaign figures, monthly leaderboards, and their CSV/XLSX exports.

Figures count credited actions (grams CO2e and points) by action-type category,
by Shanghai day or ISO week. Residents appear on leaderboards by masked name
only; ties go to whoever reached the total first. Communities within a street
are ranked by points (``by=points``) or by grams CO2e per participating
resident (``by=grams_per_participant``). Add ``format=csv`` or ``format=xlsx``
for a download. Workers see their own communities (and the streets they
work in); admins see all.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response
from sqlalchemy import select

from carbon_credit.campaigns import check_readable, get_campaign
from carbon_credit.models import Community
from carbon_credit.reporting import exports as export
from carbon_credit.reporting.figures import campaign_figures, check_range, community_figures
from carbon_credit.reporting.leaderboards import (
    community_leaderboard,
    month_label,
    parse_month,
    street_leaderboard,
)
from carbon_credit.staff.scope import OutOfScope
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal, ensure_community_access
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.figures import (
    CampaignFiguresQuerySchema,
    CampaignFiguresSchema,
    CommunityBoardQuerySchema,
    CommunityBoardSchema,
    CommunityFiguresQuerySchema,
    CommunityFiguresSchema,
    StreetBoardQuerySchema,
    StreetBoardSchema,
)

blp = Blueprint("figures", __name__, url_prefix="/api/v1", description=__doc__)
STAFF = ("admin", "worker")
# ?format=csv or xlsx answers the same 200 with a file to download instead of JSON.
FILE_RESPONSES = {"responses": {200: {"content": {
    content_type: {"schema": {"type": "string", "format": "binary"}} for content_type in export.FORMATS.values()}}}}


def _download(fmt: str, name: str, sheet: str, table) -> Response:
    body = export.render(fmt, sheet, table)
    filename = f"{name}.{fmt}"
    ascii_name = filename.encode("ascii", "ignore").decode() or f"export.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, content_type=export.FORMATS[fmt], headers={"Content-Disposition": disposition})


def _ensure_street_access(street_id: int) -> None:
    scope = current_principal().community_ids
    if scope is None:
        return
    streets = set(db.session.execute(select(Community.street_id).where(Community.id.in_(scope))).scalars())
    if street_id not in streets:
        raise OutOfScope("No such street in your area.", code="street_not_found")


@blp.get("/figures/communities/<int:community_id>")
@auth_required(*STAFF)
@blp.arguments(CommunityFiguresQuerySchema, location="query")
@blp.response(200, CommunityFiguresSchema)
@blp.doc(**FILE_RESPONSES)
def community(query, community_id):
    """Participants, actions, grams and points of a community, by category and by day or week."""
    ensure_community_access(community_id)
    start, end = check_range(query["from_"], query["to"], query["group"], utcnow())
    figures = community_figures(db.session, community_id, start, end, query["group"])
    if query["format"] != "json":
        return _download(query["format"], f"community-{community_id}-{start}-{end}", figures["community"],
                         export.community_table(figures))
    return figures


@blp.get("/figures/campaigns/<int:campaign_id>")
@auth_required(*STAFF)
@blp.arguments(CampaignFiguresQuerySchema, location="query")
@blp.response(200, CampaignFiguresSchema)
@blp.doc(**FILE_RESPONSES)
def campaign(query, campaign_id):
    """A campaign's figures: its qualifying actions in its window, check-ins and enrolments, per community."""
    check_readable(get_campaign(db.session, campaign_id), current_principal().community_ids)
    figures = campaign_figures(db.session, campaign_id, query["group"])
    if query["format"] != "json":
        return _download(query["format"], f"campaign-{campaign_id}", figures["title"], export.campaign_table(figures))
    return figures


@blp.get("/leaderboards/communities/<int:community_id>")
@auth_required(*STAFF)
@blp.arguments(CommunityBoardQuerySchema, location="query")
@blp.response(200, CommunityBoardSchema)
@blp.doc(**FILE_RESPONSES)
def community_board(query, community_id):
    """Residents of a community ranked by points credited in the month (masked names)."""
    ensure_community_access(community_id)
    month = parse_month(query["month"], utcnow())
    rows = community_leaderboard(db.session, community_id, month, query["limit"])
    if query["format"] != "json":
        return _download(query["format"], f"leaderboard-community-{community_id}-{month_label(month)}",
                         month_label(month), export.resident_board_table(rows))
    return {"community_id": community_id, "month": month_label(month), "rows": rows}


@blp.get("/leaderboards/streets/<int:street_id>")
@auth_required(*STAFF)
@blp.arguments(StreetBoardQuerySchema, location="query")
@blp.response(200, StreetBoardSchema)
@blp.doc(**FILE_RESPONSES)
def street_board(query, street_id):
    """Communities of a street ranked by points or by grams CO2e per participant."""
    _ensure_street_access(street_id)
    month = parse_month(query["month"], utcnow())
    rows = street_leaderboard(db.session, street_id, month, query["by"])
    if query["format"] != "json":
        return _download(query["format"], f"leaderboard-street-{street_id}-{month_label(month)}",
                         month_label(month), export.street_board_table(rows))
    return {"street_id": street_id, "month": month_label(month), "by": query["by"], "rows": rows}
