"""What the bot does with each push: registries from message type and event to a handler.

A handler takes a ``Push`` and returns the reply text, or None for ``success``.
Handlers call carbon_credit services and flush; the callback commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional

from carbon_credit.models import Resident
from carbon_credit.residents import find_resident_by_openid, follow_resident

log = logging.getLogger(__name__)

MESSAGE_HANDLERS: dict[str, Callable] = {}
EVENT_HANDLERS: dict[str, Callable] = {}
# Events whose handling changes nothing and says nothing: a retry is harmless, so no de-dup write.
# (WeChat reports LOCATION every few seconds while a chat is open.)
STATELESS_EVENTS: set[str] = set()


@dataclass(frozen=True)
class Keys:
    """Secrets handlers need: the openid hash key (unfollow) and the transit-card hash key."""

    openid_hash: str
    card_hash: str = ""


@dataclass
class Push:
    """One decoded push: the raw fields as WeChat sent them and wechatpy's parse of them."""

    session: object
    now: datetime
    raw: dict
    message: object
    keys: Keys
    _resident: Optional[Resident] = field(default=None, repr=False)
    h5_url: Optional[str] = None
    appid: str = ""

    def page_link(self, page: str) -> Optional[str]:
        """The link that opens one of the residents' pages through WeChat's OAuth, when they are configured."""
        from ..outbound.pages import page_link

        return page_link(self.h5_url, self.appid, page) if self.h5_url else None

    @property
    def openid(self) -> str:
        return self.raw.get("FromUserName") or ""

    def field(self, name: str, default: str = "") -> str:
        value = self.raw.get(name)
        return value if isinstance(value, str) else default

    def resident(self) -> Resident:
        """The sender's resident; someone who followed before the bot kept records is registered now."""
        if self._resident is None:
            self._resident = find_resident_by_openid(self.session, self.openid)
            if self._resident is None:
                self._resident, _ = follow_resident(self.session, self.openid, self.now,
                                                    hash_key=self.keys.openid_hash)
        return self._resident


def on_message(*msg_types: str):
    def wrap(fn):
        for msg_type in msg_types:
            MESSAGE_HANDLERS[msg_type] = fn
        return fn

    return wrap


def on_event(*names: str, stateless: bool = False):
    """Events are matched case-insensitively (WeChat writes SCAN and subscribe alike)."""
    def wrap(fn):
        for event in names:
            EVENT_HANDLERS[event.lower()] = fn
            if stateless:
                STATELESS_EVENTS.add(event.lower())
        return fn

    return wrap


def needs_dedupe(raw: dict) -> bool:
    """False for events that neither write nor answer, so a retry of them needs no memory."""
    return not (raw.get("MsgType") == "event" and str(raw.get("Event") or "").lower() in STATELESS_EVENTS)


def dispatch(push: Push) -> str | None:
    """The reply text for a push, or None (answer ``success``) when there is nothing to say."""
    msg_type = push.field("MsgType").lower()
    if msg_type == "event":
        event = push.field("Event").lower()
        handler = EVENT_HANDLERS.get(event)
        kind = f"event {event!r}"
    else:
        handler = MESSAGE_HANDLERS.get(msg_type)
        kind = f"message type {msg_type!r}"
    if handler is None:
        log.info("wechat push of unhandled %s answered with success", kind)
        return None
    return handler(push)


# The handler modules fill the registries.
from . import commands, events, messages  # noqa: E402,F401
