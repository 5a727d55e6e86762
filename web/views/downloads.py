"""CSV and XLSX downloads the API offers, from the console: a campaign's figures and a street's ranking."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, g, request

from carbon_credit.reporting import exports as export
from carbon_credit.reporting.figures import campaign_figures
from carbon_credit.reporting.leaderboards import month_label, street_leaderboard
from carbon_credit.reporting.street_report import street_communities
from carbon_credit.timeutil import utcnow

from ..database import db
from . import console
from .campaigns import _readable
from .reports import _month


def _format() -> str:
    fmt = request.args.get("format", "")
    if fmt not in export.FORMATS:
        abort(404)
    return fmt


def _download(fmt: str, name: str, sheet: str, table) -> Response:
    filename = f"{name}.{fmt}"
    ascii_name = filename.encode("ascii", "ignore").decode() or f"export.{fmt}"
    return Response(export.render(fmt, sheet, table), content_type=export.FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})


@console.get("/campaigns/<int:campaign_id>/figures")
def campaign_figures_download(campaign_id):
    """The campaign's figures per day, as the API's ``/figures/campaigns/<id>?format=``."""
    fmt = _format()
    campaign = _readable(campaign_id)
    figures = campaign_figures(db.session, campaign.id, "day")
    return _download(fmt, f"campaign-{campaign.id}", figures["title"], export.campaign_table(figures))


@console.get("/reports/<int:street_id>/ranking")
def street_ranking_download(street_id):
    """The street's communities ranked by points, as the API's ``/leaderboards/streets/<id>?format=``."""
    fmt = _format()
    street_communities(db.session, street_id, g.scope)  # a street outside the caller's area reads as unknown
    month = _month(utcnow())[0]
    rows = street_leaderboard(db.session, street_id, month, "points")
    return _download(fmt, f"leaderboard-street-{street_id}-{month_label(month)}", month_label(month),
                     export.street_board_table(rows))
