"""绑卡: binding a transit card by text, or how to do it."""
from __future__ import annotations

import re

from carbon_credit import cards
from carbon_credit.errors import DomainError

from .. import texts
from .commands import command

_CARD_DIGITS = re.compile(r"[\d\-\s]+")


@command("bind_card", click="BIND_CARD", takes_argument=True)
def bind_card(push, argument: str) -> str:
    if not argument or not _CARD_DIGITS.fullmatch(argument):
        link = push.page_link("cards")
        return texts.BIND_CARD_HOW + (texts.BIND_CARD_PAGE.format(url=link) if link else "")
    resident = push.resident()
    try:
        with push.session.begin_nested():
            result = cards.bind_card(push.session, resident.id, argument, push.now, key=push.keys.card_hash)
    except DomainError as error:
        reason = texts.BIND_CARD_REASONS.get(error.code, texts.BIND_CARD_REASON_OTHER)
        return texts.BIND_CARD_FAILED.format(reason=reason)
    return texts.BIND_CARD_DONE.format(tail=result.card.last4)
