"""The HTTP resources: one flask-smorest blueprint per resource."""
from __future__ import annotations

from . import action_types, audit, auth, health, me, org, residents, rule_sets, staff
from . import cards
from . import appliances, partner_events, partners, phone, reviews, stations


def register_blueprints(smorest_api) -> None:
    for blueprint in (health.blp, auth.blp, me.blp, org.blp, residents.blp, staff.blp, action_types.blp,
                      rule_sets.blp, audit.blp):
        smorest_api.register_blueprint(blueprint)
    from . import rewards  # rewards, redemptions and vouchers
    smorest_api.register_blueprint(rewards.blp)
    from . import budgets  # monthly points budgets
    smorest_api.register_blueprint(budgets.blp)
    from . import campaigns, figures  # campaigns, check-ins, figures, leaderboards and exports
    for blueprint in (campaigns.blp, figures.blp):
        smorest_api.register_blueprint(blueprint)
    from . import privacy  # a resident's own data export and erasure
    smorest_api.register_blueprint(privacy.blp)
    smorest_api.register_blueprint(cards.blp)
    for blueprint in (partners.blp, partner_events.blp, stations.blp, appliances.blp, reviews.blp, phone.blp):
        smorest_api.register_blueprint(blueprint)
