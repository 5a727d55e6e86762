"""One row of the transit operator's file: checked, normalised, or rejected with its reason.

A row is ``trip_id, card_no, mode, board_time, alight_time, distance_km``
(distance optional). Times without an offset are Shanghai local time, as the
operator writes them. Reasons are stable codes followed by detail, so the
operator can fix their export.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Optional

from carbon_credit.residents.cards import CARD_MAX_DIGITS, CARD_MIN_DIGITS
from carbon_credit.rules import CompiledRuleSet
from carbon_credit.timeutil import TZ

MODES = {"bus": "bus_ride", "metro": "metro_ride", "bike": "bike_ride"}
REQUIRED = ("trip_id", "card_no", "mode", "board_time", "alight_time")
CLOCK_SKEW = timedelta(minutes=5)
MAX_TRIP_ID = 128
MAX_TRIP_HOURS = timedelta(hours=12)


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Trip:
    line_no: int
    trip_id: str
    card_no: str
    action_type: str
    mode: str
    board: datetime  # aware UTC
    alight: datetime
    distance: Optional[Decimal]
    day: date  # Shanghai calendar day of boarding: the day of the caps
    rule_set: Optional[CompiledRuleSet] = None  # the version in force at boarding
    card_hash: str = ""  # the keyed card hash, computed ahead of the batch's database work
    attributes_json: str = ""  # what the action keeps of the trip, as JSON (``attributes_json``)

    @property
    def unit(self) -> str:
        return "km" if self.distance is not None else "trip"

    @property
    def quantity(self) -> Decimal:
        return self.distance if self.distance is not None else Decimal(1)


def attributes_json(trip: Trip) -> str:
    """What the action keeps of the trip besides its type, quantity and boarding time (JSON).

    The mode (what the rules see as the trip's attributes) and the ride's length
    in whole seconds (``ride_s``): the alighting time is the boarding time plus
    that. Nothing shows either; the length takes 11 bytes where the alighting
    time as text took 37, on every one of millions of rows.
    """
    if trip.attributes_json:
        return trip.attributes_json
    return f'{{"mode":"{trip.mode}","ride_s":{int((trip.alight - trip.board).total_seconds())}}}'


# Shanghai has kept UTC+8 without daylight saving since 1991: a local time from then on is converted
# with one subtraction instead of a time-zone lookup (twice per row of a file of millions).
FIXED_OFFSET_SINCE = 1992
EIGHT_HOURS = timedelta(hours=8)


def _time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Rejected(f"unparseable: {name} {value[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        if moment.year >= FIXED_OFFSET_SINCE:
            return (moment - EIGHT_HOURS).replace(tzinfo=timezone.utc)
        moment = moment.replace(tzinfo=TZ)
    return moment.astimezone(timezone.utc)


def _local_day(moment: datetime) -> date:
    """The Shanghai calendar day of an aware UTC time."""
    if moment.year >= FIXED_OFFSET_SINCE:
        return (moment + EIGHT_HOURS).date()
    return moment.astimezone(TZ).date()


def _distance(value: str) -> Optional[Decimal]:
    value = value.strip()
    if not value:
        return None
    try:
        distance = Decimal(value)
    except InvalidOperation:
        raise Rejected(f"unparseable: distance_km {value[:40]!r} is not a number") from None
    if not distance.is_finite():
        raise Rejected(f"unparseable: distance_km {value[:40]!r} is not a number")
    if distance <= 0:
        raise Rejected(f"bad_distance: {value} km is not a positive distance")
    return distance.quantize(Decimal("0.001")) if distance.as_tuple().exponent < -3 else distance


def _card(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit() and CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS):
        raise Rejected(f"bad_card_number: not {CARD_MIN_DIGITS} to {CARD_MAX_DIGITS} digits")
    return digits


def parse_trip(line_no: int, fields: dict, now: datetime) -> Trip:
    """A checked trip, or ``Rejected`` with the first problem found."""
    missing = [name for name in REQUIRED if not (fields.get(name) or "").strip()]
    if missing:
        raise Rejected(f"missing_field: {', '.join(missing)}")
    trip_id = fields["trip_id"].strip()
    if len(trip_id) > MAX_TRIP_ID:
        raise Rejected(f"bad_trip_id: longer than {MAX_TRIP_ID} characters")
    if not trip_id.isprintable():
        raise Rejected("bad_trip_id: contains control characters")
    mode = fields["mode"].strip().lower()
    action_type = MODES.get(mode)
    if action_type is None:
        raise Rejected(f"unknown_mode: {fields['mode'][:20]!r} (one of {', '.join(MODES)})")
    board = _time(fields["board_time"], "board_time")
    alight = _time(fields["alight_time"], "alight_time")
    if alight < board:
        raise Rejected("alight_before_board: alighting time is before boarding time")
    if alight - board > MAX_TRIP_HOURS:
        raise Rejected("bad_duration: a trip of more than 12 hours")
    if alight > now + CLOCK_SKEW:
        raise Rejected("time_in_future: the trip ends after the file was read")
    distance = _distance(fields.get("distance_km") or "")
    return Trip(line_no, trip_id, _card(fields["card_no"]), action_type, mode, board, alight, distance,
                _local_day(board))


class RuleSets:
    """The activated rule-set versions, compiled once; the one in force at a time is a bisect."""

    def __init__(self, versions):
        ordered = sorted(versions, key=lambda v: (v.effective_from, v.version))
        self._starts = [v.effective_from for v in ordered]
        self._compiled = ordered

    def at(self, moment: datetime):
        index = bisect_right(self._starts, moment) - 1
        return self._compiled[index] if index >= 0 else None


def check_against_rules(trip: Trip, rule_sets: RuleSets, active_types: set) -> Trip:
    """Attach the version in force at boarding; reject what that version cannot credit."""
    compiled = rule_sets.at(trip.board)
    if compiled is None:
        raise Rejected("no_rule_set: no rule set was in force at boarding time")
    rule = compiled.rules.get(trip.action_type)
    if rule is None or trip.action_type not in active_types:
        raise Rejected(f"no_rule: {trip.action_type} has no rule in force")
    if trip.unit not in rule.factors and rule.method == "per_unit":
        raise Rejected(f"no_rule: {trip.action_type} has no per-{trip.unit} factor")
    high = rule.max_for(trip.unit)
    if high is not None and trip.quantity > high:
        raise Rejected(f"bad_distance: {trip.quantity} {trip.unit} is above the maximum of {high}")
    if rule.min_quantity is not None and trip.quantity < rule.min_quantity:
        raise Rejected(f"bad_distance: {trip.quantity} {trip.unit} is below the minimum of {rule.min_quantity}")
    trip.rule_set = compiled
    return trip
