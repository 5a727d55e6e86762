"""Weigh-ins at stations: which action a weighed category becomes, and on-site recording by workers.

Per METHODOLOGY.md and the rules in force: paper, plastic, metal and glass are
recyclables (points only, per kg, the material kept in the attributes);
textiles earn their per-kg factor; kitchen waste is one correct drop, its
weight kept in the attributes. The rule's maximum per action still applies.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Callable, Optional

from carbon_credit.actions.intake import IdentityKeys, protected_ref, queue_credit_notice, resolve_resident
from carbon_credit.actions.record import ActionInput, RecordResult, record_action, request_fingerprint
from carbon_credit.errors import InvalidInput, NotFound, QuantityOutOfRange
from carbon_credit.org.stations import get_station
from carbon_credit.staff.audit import audit
from carbon_credit.staff.scope import covers, resident_community

# A kitchen-waste drop is counted, not weighed for points; beyond this a weight is a device fault.
KITCHEN_WASTE_MAX_KG = Decimal("30")
# Workers may record a weigh-in they could not enter at once, within a week.
WORKER_MAX_AGE = timedelta(days=7)
WORKER_RESIDENT_REFS = ("phone", "card_no", "resident_id")


@dataclass(frozen=True)
class WeighIn:
    action_type: str
    quantity: Decimal
    unit: str
    attributes: dict


def _by_weight(action_type: str) -> Callable:
    def build(category: str, weight: Decimal) -> WeighIn:
        return WeighIn(action_type, weight, "kg", {"material": category, "weight_kg": str(weight)})

    return build


def _kitchen_drop(category: str, weight: Decimal) -> WeighIn:
    if weight > KITCHEN_WASTE_MAX_KG:
        raise QuantityOutOfRange(f"A kitchen-waste drop weighs at most {KITCHEN_WASTE_MAX_KG} kg.",
                                 errors={"weight_kg": [f"at most {KITCHEN_WASTE_MAX_KG}"]})
    return WeighIn("kitchen_waste_sorting", Decimal(1), "drop", {"material": category, "weight_kg": str(weight)})


WEIGH_IN_CATEGORIES: dict[str, Callable] = {
    "paper": _by_weight("recyclables_dropoff"),
    "plastic": _by_weight("recyclables_dropoff"),
    "metal": _by_weight("recyclables_dropoff"),
    "glass": _by_weight("recyclables_dropoff"),
    "textiles": _by_weight("textiles_dropoff"),
    "kitchen_waste": _kitchen_drop,
}
WEIGH_IN_ACTION_TYPES = frozenset(("recyclables_dropoff", "textiles_dropoff", "kitchen_waste_sorting"))


def weigh_in(category, weight_kg) -> WeighIn:
    """The action a weighed category becomes; the weight must be a positive number of kg."""
    build = WEIGH_IN_CATEGORIES.get(category)
    if build is None:
        raise InvalidInput(f"Unknown category {category!r}.", code="unknown_category",
                           errors={"category": [f"one of {list(WEIGH_IN_CATEGORIES)}"]})
    try:
        weight = Decimal(str(weight_kg))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(errors={"weight_kg": ["must be a number"]}) from None
    if isinstance(weight_kg, bool) or not weight.is_finite() or weight <= 0:
        raise QuantityOutOfRange("The weight must be more than 0 kg.", errors={"weight_kg": ["must be > 0"]})
    return build(category, weight)


def record_worker_weigh_in(session, station_id: int, data: dict, now: datetime, *, staff_id: int, scope,
                           keys: IdentityKeys, idempotency_key: str) -> RecordResult:
    """A community worker weighs a resident's drop-off on site (for residents without a phone)."""
    station = get_station(session, station_id, scope)
    if not station.active:
        raise InvalidInput("This station is not active.", code="station_inactive")
    resident_id = resolve_resident(session, data["resident"], keys, allowed=WORKER_RESIDENT_REFS)
    if resident_id is None or not covers(scope, resident_community(session, resident_id)):
        raise NotFound("No resident matches.", code="unknown_resident")  # outside the worker's area: the same
    item = weigh_in(data["category"], data["weight_kg"])
    occurred_at: Optional[datetime] = data.get("occurred_at") or now
    fingerprint = request_fingerprint({"station_id": station_id, **data,
                                       "resident": protected_ref(data["resident"], keys)})
    result = record_action(session, ActionInput(
        resident_id=resident_id, action_type=item.action_type, quantity=item.quantity, unit=item.unit,
        occurred_at=occurred_at, source="worker", evidence="worker", idem_scope=f"worker:{staff_id}",
        external_id=idempotency_key, request_hash=fingerprint, recorded_by=staff_id,
        attributes={**item.attributes, "station_id": station.id, "category": data["category"]},
    ), now, max_age=WORKER_MAX_AGE)
    if result.created:
        queue_credit_notice(session, result.action, result.credit, now)
        audit(session, now, "station.weigh_in", "green_action", result.action.id, actor_id=staff_id,
              station_id=station.id, category=data["category"], weight_kg=str(data["weight_kg"]),
              resident_id=resident_id, status=result.action.status)
    return result
