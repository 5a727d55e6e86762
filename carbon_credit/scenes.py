"""QR scenes: the ``<kind>:<id>`` strings parametric QR codes carry, and what a scan of one returns.

A scene string looks like ``<kind>:<id>`` (for example ``campaign:12`` or
``station:7``). The services that answer a scan (campaign check-ins, station
visits) and the dispatcher in ``checkins`` share these.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScanResult:
    ok: bool
    code: str  # checked_in | already_checked_in | not_open | outside_community | unknown_scene | ...
    points: int = 0
    balance: int | None = None
    title: str = ""
    detail: dict = field(default_factory=dict)


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
