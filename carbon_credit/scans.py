"""QR scene check-ins: which service answers a scan of each kind of scene.

The bot only calls ``scan_scene``; the table below names every kind of
scene and its handler, so neither face needs to know campaigns or stations.
A new kind of QR code adds its handler here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from carbon_credit.actions.campaign_checkins import scan_campaign
from carbon_credit.org.stations import scan_station
from carbon_credit.scenes import ScanResult, parse_scene

SCENE_HANDLERS: dict[str, Callable] = {
    "campaign": scan_campaign,
    "station": scan_station,
}


def is_known_scene(scene: str) -> bool:
    parsed = parse_scene(scene)
    return parsed is not None and parsed[0] in SCENE_HANDLERS


def scan_scene(session, resident, scene: str, now: datetime) -> ScanResult:
    """Dispatch a scan to its handler: fn(session, resident, ident, now) -> ScanResult."""
    parsed = parse_scene(scene)
    if parsed is None or parsed[0] not in SCENE_HANDLERS:
        return ScanResult(ok=False, code="unknown_scene")
    kind, ident = parsed
    return SCENE_HANDLERS[kind](session, resident, ident, now)
