"""Parametric QR codes: create them at WeChat once, store them, reuse them.

The service knows only scene strings and the two kinds WeChat offers:
permanent codes (``QR_LIMIT_STR_SCENE``, at most 100,000 per account, for
fixed recycling stations) and temporary ones (``QR_STR_SCENE``, at most 30
days, for campaign sessions). What a scene names is the business of the
scene handlers (``carbon_credit.scans``) and of ``qr_targets``.

A code made by the offline client is stored as ``offline`` and never handed
out as one WeChat issued: once the server calls WeChat, the first request for
the scene asks WeChat for a real code (and the offline one is shown only
while no real one exists).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carbon_credit.errors import Conflict, InvalidInput
from carbon_credit.models import QRCode

from .offline import is_offline

PERMANENT_LIMIT = 100_000
MAX_TEMPORARY_SECONDS = 2_592_000  # 30 days
MAX_SCENE_LENGTH = 64
# A stored temporary code is handed out again while it stays valid this long (or the time asked for, if shorter).
REUSE_MARGIN = timedelta(days=1)
SHOW_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
ACTION_NAMES = {"permanent": "QR_LIMIT_STR_SCENE", "temporary": "QR_STR_SCENE"}


class QRLimitReached(Conflict):
    code = "qr_limit_reached"
    message = "The account's 100,000 permanent QR codes are used up."


def image_url(ticket: str) -> str:
    """Where WeChat serves the code's picture; the ticket is URL-encoded whole."""
    return SHOW_URL + quote(ticket, safe="")


def check_request(scene: str, kind: str, expire_seconds: int | None) -> None:
    problems = {}
    if not isinstance(scene, str) or not 1 <= len(scene) <= MAX_SCENE_LENGTH:
        problems["scene"] = [f"A scene string has 1-{MAX_SCENE_LENGTH} characters."]
    if kind not in ACTION_NAMES:
        problems["kind"] = [f"Use one of {sorted(ACTION_NAMES)}."]
    elif kind == "temporary" and not (expire_seconds and 1 <= expire_seconds <= MAX_TEMPORARY_SECONDS):
        problems["expire_seconds"] = [f"A temporary code lives 1-{MAX_TEMPORARY_SECONDS} seconds (30 days)."]
    if problems:
        raise InvalidInput("The QR code request is not valid.", errors=problems)


def find_reusable(session, scene: str, kind: str, now: datetime, expire_seconds: int | None = None, *,
                  offline: bool = False) -> QRCode | None:
    """The stored code for ``scene`` that can still be printed, if any, made the same way (offline or not)."""
    if kind == "permanent" and not offline:
        return session.scalar(select(QRCode).where(QRCode.permanent_scene == scene))
    if kind == "permanent":
        return session.scalar(select(QRCode).where(QRCode.scene == scene, QRCode.kind == "permanent",
                                                   QRCode.offline.is_(True)).order_by(QRCode.id).limit(1))
    margin = min(REUSE_MARGIN, timedelta(seconds=expire_seconds or MAX_TEMPORARY_SECONDS))
    query = (
        select(QRCode)
        .where(QRCode.scene == scene, QRCode.kind == "temporary", QRCode.expires_at >= now + margin,
               QRCode.offline.is_(offline))
        .order_by(QRCode.expires_at.desc())
        .limit(1)
    )
    return session.scalar(query)


def latest_qrcode(session, scene: str, now: datetime) -> QRCode | None:
    """The code to show for ``scene``: the permanent one, else the longest-lived valid temporary one;
    one WeChat issued before one recorded offline."""
    permanent = session.scalar(select(QRCode).where(QRCode.permanent_scene == scene))
    if permanent is not None:
        return permanent
    query = (
        select(QRCode)
        .where(QRCode.scene == scene, (QRCode.expires_at > now) | (QRCode.kind == "permanent"))
        .order_by(QRCode.offline, QRCode.kind == "temporary", QRCode.expires_at.desc(), QRCode.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def permanent_count(session) -> int:
    """Permanent codes WeChat issued (its limit of 100,000 counts no offline record)."""
    return session.scalar(select(func.count()).select_from(QRCode).where(QRCode.kind == "permanent",
                                                                        QRCode.offline.is_(False)))


def ensure_qrcode(session, client, scene: str, kind: str, now: datetime, *, expire_seconds: int | None = None,
                  created_by: int | None = None) -> tuple[QRCode, bool]:
    """A printable code for ``scene``: a stored one still valid, or a new one from WeChat.

    Returns ``(code, created)``. Flushes, never commits.
    """
    check_request(scene, kind, expire_seconds)
    # Settle the shared token before this session opens a snapshot: on SQLite (WAL) a token
    # stored by another connection after this session's first read stops it from writing.
    client.access_token
    offline = is_offline(client)
    existing = find_reusable(session, scene, kind, now, expire_seconds, offline=offline)
    if existing is not None:
        return existing, False
    if kind == "permanent" and not offline and permanent_count(session) >= PERMANENT_LIMIT:
        raise QRLimitReached()
    result = client.qrcode.create(_create_body(scene, kind, expire_seconds))
    return _store(session, scene, kind, result, now, created_by, offline)


def _create_body(scene: str, kind: str, expire_seconds: int | None) -> dict:
    body = {"action_name": ACTION_NAMES[kind], "action_info": {"scene": {"scene_str": scene}}}
    if kind == "temporary":
        body["expire_seconds"] = expire_seconds
    return body


def _store(session, scene, kind, result: dict, now, created_by, offline: bool = False) -> tuple[QRCode, bool]:
    seconds = result.get("expire_seconds") if kind == "temporary" else None
    code = QRCode(
        scene=scene, kind=kind, permanent_scene=scene if kind == "permanent" and not offline else None,
        ticket=result["ticket"], url=result.get("url", ""), expire_seconds=seconds,
        expires_at=now + timedelta(seconds=int(seconds)) if seconds else None,
        created_by=created_by, created_at=now, offline=offline,
    )
    try:
        with session.begin_nested():
            session.add(code)
    except IntegrityError:
        # Another request stored this scene's permanent code (WeChat gives one ticket per scene).
        same = QRCode.ticket == result["ticket"]
        if kind == "permanent":
            same = same | (QRCode.permanent_scene == scene)
        winner = session.scalar(select(QRCode).where(same))
        if winner is None:
            raise
        return winner, False
    return code, True
