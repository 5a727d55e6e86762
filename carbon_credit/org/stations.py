"""Waste-sorting and recycling stations: registering them, and visits opened by their QR code.

Workers manage the stations of their own communities, admins every station.
``scope`` is the tuple of community ids the caller may act in, or None for all.

A resident who scans a station's permanent QR (scene ``station:<id>``) opens a
10-minute visit. The device's next weigh-in at that station that names no
resident is credited to the earliest open visit (first come, first weighed).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update

from carbon_credit.errors import InvalidInput, NotFound
from carbon_credit.ledger.points import lock_account
from carbon_credit.models import Community
from carbon_credit.models.partners import Partner
from carbon_credit.models.stations import STATION_KINDS, Station, StationVisit
from carbon_credit.scenes import ScanResult, scene_id
from carbon_credit.staff.audit import audit
from carbon_credit.staff.scope import covers

VISIT_LENGTH = timedelta(minutes=10)
# A device clock may run a little behind the phone that opened the visit.
VISIT_EARLY_GRACE = timedelta(minutes=1)
EDITABLE = ("name", "kind", "community_id", "address", "partner_id", "active")


def get_station(session, station_id: int, scope=None) -> Station:
    """The station, if the caller may act on it; outside a worker's communities it reads as unknown."""
    station = session.get(Station, station_id)
    if station is None or not covers(scope, station.community_id):
        raise NotFound("No such station.", code="station_not_found")
    return station


def _check_fields(session, data: dict, scope=None) -> None:
    """Field errors; a community outside a worker's area is as unknown as one that does not exist."""
    errors = {}
    if "kind" in data and data["kind"] not in STATION_KINDS:
        errors["kind"] = [f"one of {list(STATION_KINDS)}"]
    if "name" in data and not str(data["name"] or "").strip():
        errors["name"] = ["required"]
    if "community_id" in data and (not covers(scope, data["community_id"])
                                   or session.get(Community, data["community_id"]) is None):
        errors["community_id"] = ["unknown community"]
    if data.get("partner_id") is not None and session.get(Partner, data["partner_id"]) is None:
        errors["partner_id"] = ["unknown partner"]
    if errors:
        raise InvalidInput(errors=errors)


def create_station(session, data: dict, now: datetime, *, scope=None, actor_id=None) -> Station:
    _check_fields(session, data, scope)
    station = Station(name=data["name"].strip(), kind=data["kind"], community_id=data["community_id"],
                      address=data.get("address", ""), partner_id=data.get("partner_id"),
                      active=data.get("active", True), created_at=now, updated_at=now)
    session.add(station)
    session.flush()
    audit(session, now, "station.create", "station", station.id, actor_id=actor_id,
          **{k: getattr(station, k) for k in EDITABLE})
    return station


def update_station(session, station_id: int, changes: dict, now: datetime, *, scope=None, actor_id=None) -> Station:
    station = get_station(session, station_id, scope)
    _check_fields(session, changes, scope)  # a worker cannot move a station out of their area
    before = {k: getattr(station, k) for k in EDITABLE if k in changes}
    for name in before:
        setattr(station, name, changes[name])
    station.updated_at = now
    session.flush()
    audit(session, now, "station.update", "station", station.id, actor_id=actor_id, before=before,
          after={k: getattr(station, k) for k in before})
    return station


def list_stations(session, *, scope=None, community_id: Optional[int] = None, active: Optional[bool] = None):
    query = select(Station).order_by(Station.id)
    if scope is not None:
        query = query.where(Station.community_id.in_(scope or [-1]))
    if community_id is not None:
        query = query.where(Station.community_id == community_id)
    if active is not None:
        query = query.where(Station.active.is_(active))
    return list(session.execute(query).scalars())


def open_visit(session, resident, station: Station, now: datetime) -> StationVisit:
    """The resident's open visit at this station, extended, or a new one."""
    lock_account(session, resident.id)  # one resident's scans serialise: no twin visits
    visit = session.execute(select(StationVisit).where(
        StationVisit.station_id == station.id, StationVisit.resident_id == resident.id,
        StationVisit.consumed_at.is_(None), StationVisit.expires_at > now)).scalars().first()
    if visit is None:
        visit = StationVisit(station_id=station.id, resident_id=resident.id, opened_at=now)
        session.add(visit)
    visit.expires_at = now + VISIT_LENGTH
    session.flush()
    return visit


def claim_visit(session, station_id: int, occurred_at: datetime, now: datetime) -> Optional[StationVisit]:
    """Consume the earliest visit open at ``occurred_at``; a conditional update makes it single-use."""
    candidates = session.execute(select(StationVisit.id).where(
        StationVisit.station_id == station_id, StationVisit.consumed_at.is_(None),
        StationVisit.opened_at <= occurred_at + VISIT_EARLY_GRACE, StationVisit.expires_at >= occurred_at)
        .order_by(StationVisit.opened_at, StationVisit.id).limit(5)).scalars().all()
    for visit_id in candidates:
        taken = session.execute(update(StationVisit).where(StationVisit.id == visit_id,
                                                           StationVisit.consumed_at.is_(None))
                                .values(consumed_at=now).execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            return session.get(StationVisit, visit_id, populate_existing=True)
    return None


def scan_station(session, resident, ident: str, now: datetime) -> ScanResult:
    """A resident scanned a station's QR: open (or extend) a short visit there."""
    station_id = scene_id(ident)
    station = session.get(Station, station_id) if station_id is not None else None
    if station is None:
        return ScanResult(ok=False, code="unknown_station")
    if not station.active:
        return ScanResult(ok=False, code="station_inactive", title=station.name, detail={"station_id": station.id})
    if resident is None or resident.status != "active":
        return ScanResult(ok=False, code="resident_inactive", title=station.name)
    visit = open_visit(session, resident, station, now)
    detail = {"station_id": station.id, "station_name": station.name, "visit_id": visit.id,
              "expires_at": visit.expires_at.isoformat(), "minutes": int(VISIT_LENGTH.total_seconds() // 60)}
    return ScanResult(ok=True, code="station_visit_open", title=station.name, detail=detail)
