"""The HTTP resources: one flask-smorest blueprint per resource."""
from __future__ import annotations

from . import auth, health
from . import cards


def register_blueprints(smorest_api) -> None:
    for blueprint in (health.blp, auth.blp):
        smorest_api.register_blueprint(blueprint)
    smorest_api.register_blueprint(cards.blp)
