"""QR scene check-ins: a registry from scene prefix to the service that handles it.

A scene string looks like ``<kind>:<id>`` (for example ``campaign:12`` or
``station:7``). The bot only calls ``scan_scene``; campaigns and stations
register their handlers, so neither face needs to know the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

SCENE_HANDLERS: dict[str, Callable] = {}


@dataclass
class ScanResult:
    ok: bool
    code: str  # checked_in | already_checked_in | not_open | outside_community | unknown_scene | ...
    points: int = 0
    balance: int | None = None
    title: str = ""
    detail: dict = field(default_factory=dict)


def register_scene(kind: str):
    def wrap(fn):
        SCENE_HANDLERS[kind] = fn
        return fn

    return wrap


def parse_scene(scene: str) -> tuple[str, str] | None:
    kind, sep, ident = (scene or "").partition(":")
    if not sep or not kind or not ident:
        return None
    return kind, ident


SCENE_ID_MAX = 2**31 - 1  # ids are 32-bit integer columns; anything larger names nothing


def scene_id(ident: str) -> int | None:
    """The numeric id in a scene, or None when it cannot name a row (not digits, or out of range)."""
    if not ident.isascii() or not ident.isdigit() or len(ident) > 10:
        return None
    value = int(ident)
    return value if 0 < value <= SCENE_ID_MAX else None


def scan_scene(session, resident, scene: str, now: datetime) -> ScanResult:
    """Dispatch a scan to its handler: fn(session, resident, ident, now) -> ScanResult."""
    parsed = parse_scene(scene)
    if parsed is None or parsed[0] not in SCENE_HANDLERS:
        return ScanResult(ok=False, code="unknown_scene")
    kind, ident = parsed
    return SCENE_HANDLERS[kind](session, resident, ident, now)
