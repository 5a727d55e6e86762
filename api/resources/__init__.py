"""The HTTP resources: one flask-smorest blueprint per resource."""
from __future__ import annotations

from . import action_types, audit, auth, health, me, org, residents, rule_sets
from . import cards
from . import appliances, partner_events, partners, phone, reviews, stations


def register_blueprints(smorest_api) -> None:
    for blueprint in (health.blp, auth.blp, me.blp, org.blp, residents.blp, action_types.blp, rule_sets.blp,
                      audit.blp):
        smorest_api.register_blueprint(blueprint)
    smorest_api.register_blueprint(cards.blp)
    for blueprint in (partners.blp, partner_events.blp, stations.blp, appliances.blp, reviews.blp, phone.blp):
        smorest_api.register_blueprint(blueprint)
