"""Monthly points budgets (admins): set them, and see issued points, liability and the forecast."""
from __future__ import annotations

from flask.views import MethodView

from carbon_credit.budgets.admin import create_budget, delete_budget, month_report, update_budget
from carbon_credit.budgets.limits import month_of, parse_month
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, current_principal
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.budgets import BudgetBodySchema, BudgetPatchSchema, BudgetSchema, MonthQuerySchema, MonthReportSchema

blp = Blueprint("budgets", __name__, url_prefix="/api/v1/budgets", description="Monthly points budgets")


@blp.route("")
class Budgets(MethodView):
    @auth_required("admin")
    @blp.arguments(MonthQuerySchema, location="query")
    @blp.response(200, MonthReportSchema)
    def get(self, query):
        """The month's points issued, outstanding liability, forecast, and each budget's use."""
        now = utcnow()
        month = parse_month(query["month"]) if query["month"] else month_of(now)
        return month_report(db.session, month, now)

    @auth_required("admin")
    @blp.arguments(BudgetBodySchema)
    @blp.response(201, BudgetSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="The month already has a budget for that scope")
    def post(self, body):
        """Set a month's budget (all action types, or one) and what happens when it is exhausted."""
        month = parse_month(body.pop("month"))
        budget = create_budget(db.session, utcnow(), actor_id=current_principal().id, month=month, **body)
        db.session.commit()
        return budget


@blp.route("/<int:budget_id>")
class BudgetItem(MethodView):
    @auth_required("admin")
    @blp.arguments(BudgetPatchSchema)
    @blp.response(200, BudgetSchema)
    def patch(self, changes, budget_id):
        """Change the limit or the mode; takes effect for the next credit."""
        budget = update_budget(db.session, budget_id, changes, utcnow(), actor_id=current_principal().id)
        db.session.commit()
        return budget

    @auth_required("admin")
    @blp.response(204)
    def delete(self, budget_id):
        """Remove a budget: credits are no longer limited by it."""
        delete_budget(db.session, budget_id, utcnow(), actor_id=current_principal().id)
        db.session.commit()
