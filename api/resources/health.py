"""Liveness check for load balancers and the benchmarks."""
from __future__ import annotations

import marshmallow as ma

from ..inputs import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness")


class PingSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})


@blp.get("/ping")
@blp.response(200, PingSchema)
def ping():
    """The application answers (no database round trip)."""
    return {"status": "ok"}
