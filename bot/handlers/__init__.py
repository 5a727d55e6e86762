"""What the bot does with each push: tables from message type and event to a handler.

A handler takes a ``Push`` and returns the reply text, or None for ``success``.
Handlers call carbon_credit services and flush; the callback commits. The tables
(``registry.HandlerTable``) are assembled here, in ``build_handlers``, from what
each handler module lists; ``bot.register`` keeps one on the application.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from carbon_credit.models import Resident
from carbon_credit.residents.accounts import find_resident_by_openid, follow_resident

from .. import texts
from . import account_commands, card_commands, community_commands, events, messages
from .registry import CommandTable, HandlerTable

log = logging.getLogger(__name__)
EXTENSION = "wechat_handlers"  # where bot.register keeps the application's HandlerTable


def build_handlers() -> HandlerTable:
    """Every message, event and command handler of the bot, in one table."""
    commands = CommandTable(account_commands.COMMANDS + card_commands.COMMANDS + community_commands.COMMANDS)
    return HandlerTable(commands=commands, messages=dict(messages.MESSAGES), events=dict(events.EVENTS),
                        stateless=events.STATELESS)


@dataclass(frozen=True)
class Keys:
    """What handlers need from the configuration: the openid hash key (unfollow), the transit-card
    hash key, and how far back a newly bound card claims its unmatched trips."""

    openid_hash: str
    card_hash: str
    card_claim_window: timedelta


@dataclass
class Push:
    """One decoded push: the raw fields as WeChat sent them."""

    session: object
    now: datetime
    raw: dict
    keys: Keys
    handlers: HandlerTable
    _resident: Optional[Resident] = field(default=None, repr=False)
    h5_url: Optional[str] = None
    appid: str = ""
    engine: object = None  # the session's engine, for reads outside it (``read_only_answer``): no Session opened

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


# Events a resident sends on purpose (scans, menu clicks): a blocked resident is told the account is
# suspended instead. A follow is answered by its own handler, which re-links a returning follower first.
RESIDENT_EVENTS = frozenset({"scan", "scancode_push", "scancode_waitmsg", "click"})


def dispatch(push: Push) -> str | None:
    """The reply text for a push, or None (answer ``success``) when there is nothing to say."""
    msg_type = push.field("MsgType").lower()
    if msg_type == "event":
        event = push.field("Event").lower()
        handler = push.handlers.events.get(event)
        kind = f"event {event!r}"
    else:
        event = None
        handler = push.handlers.messages.get(msg_type)
        kind = f"message type {msg_type!r}"
    if handler is None:
        log.info("wechat push of unhandled %s answered with success", kind)
        return None
    if (event is None or event in RESIDENT_EVENTS) and _blocked(push):
        return texts.ACCOUNT_SUSPENDED
    return handler(push)


def read_only_answer(push: Push) -> str | None:
    """The answer of a command that only reads (余额), typed, spoken or clicked, when it can give one at once.

    None sends the push the ordinary way (``dispatch``). The callback asks this first.
    """
    msg_type = push.field("MsgType").lower()
    commands = push.handlers.commands
    if msg_type == "text":
        found = commands.match_text(push.field("Content"))
    elif msg_type == "voice" and push.field("Recognition").strip():
        found = commands.match_text(push.field("Recognition").strip())
    elif msg_type == "event" and push.field("Event").lower() == "click":
        cmd = commands.match_click(push.field("EventKey"))
        found = (cmd, "") if cmd is not None else None
    else:
        found = None
    if found is None or found[0].read is None:
        return None
    return found[0].read(push, found[1])


def _blocked(push: Push) -> bool:
    if push._resident is None and push.openid:
        push._resident = find_resident_by_openid(push.session, push.openid)
    return push._resident is not None and push._resident.status == "blocked"
