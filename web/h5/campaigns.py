"""活动: campaigns open to the resident, enrolling, and their own check-ins and bonuses."""
from __future__ import annotations

from flask import abort, g, redirect, render_template, url_for

from carbon_credit.campaigns import enrol_resident
from carbon_credit.campaigns.queries import open_campaigns_for
from carbon_credit.errors import DomainError, NotFound
from carbon_credit.reporting.resident_pages import action_type_names, campaign_activity
from carbon_credit.timeutil import utcnow

from ..database import db
from . import h5
from .texts import error_text


def _page(error=None, status=200):
    campaigns = open_campaigns_for(db.session, g.resident, utcnow())
    activity = campaign_activity(db.session, g.resident.id, [c.id for c in campaigns])
    types = action_type_names(db.session)
    return render_template("h5/campaigns.html", campaigns=campaigns, activity=activity, error=error,
                           types=types), status


@h5.get("/campaigns")
def campaigns():
    return _page()


@h5.post("/campaigns/<int:campaign_id>/enrol")
def enrol(campaign_id: int):
    try:
        enrol_resident(db.session, campaign_id, g.resident, utcnow())
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        return _page(error_text(exc.code), 409)
    db.session.commit()
    return redirect(url_for("h5.campaigns") + f"#campaign-{campaign_id}")
