"""绑卡: binding a transit card, directly by text when the card service is installed."""
from __future__ import annotations

import importlib
import importlib.util
import re

from carbon_credit.errors import DomainError

from .. import texts
from .commands import command

_CARD_DIGITS = re.compile(r"[\d\-\s]+")


def _card_service():
    """carbon_credit.cards when present (it arrives with the transit-card work), else None."""
    if importlib.util.find_spec("carbon_credit.cards") is None:
        return None
    return importlib.import_module("carbon_credit.cards")


CARDS = _card_service()


@command("bind_card", click="BIND_CARD", takes_argument=True)
def bind_card(push, argument: str) -> str:
    if CARDS is None:
        return texts.BIND_CARD_HOW_PAGE
    if not argument or not _CARD_DIGITS.fullmatch(argument):
        return texts.BIND_CARD_HOW
    resident = push.resident()
    try:
        with push.session.begin_nested():
            result = CARDS.bind_card(push.session, resident.id, argument, push.now, key=push.keys.card_hash)
    except DomainError as error:
        reason = texts.BIND_CARD_REASONS.get(error.code, texts.BIND_CARD_REASON_OTHER)
        return texts.BIND_CARD_FAILED.format(reason=reason)
    return texts.BIND_CARD_DONE.format(tail=result.card.last4)
