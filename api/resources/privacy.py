"""A resident's own data: export it, or have it erased."""
from __future__ import annotations

from carbon_credit.residents.accounts import erase_resident
from carbon_credit.residents.privacy import export_resident_data
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.privacy import ResidentExportSchema

blp = Blueprint("privacy", __name__, url_prefix="/api/v1/me", description="A resident's own data: export and erasure")


@blp.get("/export")
@auth_required("resident")
@blp.response(200, ResidentExportSchema)
def export_my_data():
    """Everything held about the signed-in resident: profile, account, actions with their credits, ledger, messages."""
    return export_resident_data(db.session, current_principal().id, utcnow())


@blp.delete("")
@auth_required("resident")
@blp.response(204)
def erase_me():
    """Erase the signed-in resident: the profile is dropped and the account can no longer be linked to them.

    The anonymous account, its ledger and carbon figures stay in the city's
    totals; pushes stop and bound cards are released. The token stops working.
    """
    erase_resident(db.session, current_principal().id, utcnow())
    db.session.commit()
