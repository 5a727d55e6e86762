"""绑卡: binding a transit card by text, or how to do it."""
from __future__ import annotations

import re

from carbon_credit.actions import card_trips
from carbon_credit.errors import DomainError
from carbon_credit.texts import ERROR_TEXTS, error_text

from .. import texts
from .registry import command

_CARD_DIGITS = re.compile(r"[\d\-\s]+")


def bind_card(push, argument: str) -> str:
    if not argument or not _CARD_DIGITS.fullmatch(argument):
        link = push.page_link("cards")
        return texts.BIND_CARD_HOW + (texts.BIND_CARD_PAGE.format(url=link) if link else "")
    resident = push.resident()
    try:
        with push.session.begin_nested():
            result = card_trips.bind_card(push.session, resident.id, argument, push.now, key=push.keys.card_hash,
                                     claim_window=push.keys.card_claim_window)
    except DomainError as error:
        reason = error_text(error.code) if error.code in ERROR_TEXTS else texts.BIND_CARD_REASON_OTHER
        return texts.BIND_CARD_FAILED.format(reason=reason)
    return bound_text(result, push.keys.card_claim_window.days)


def bound_text(result: card_trips.BindResult, days: int) -> str:
    """The binding and what it claimed: the trips of the claim window credited now, or none."""
    if not result.created:
        return texts.BIND_CARD_ALREADY.format(tail=result.card.last4)
    if result.claimed_trips:
        claimed = texts.BIND_CARD_CLAIMED.format(days=days, trips=result.claimed_trips, points=result.claimed_points)
    else:
        claimed = texts.BIND_CARD_NOTHING_CLAIMED.format(days=days)
    return texts.BIND_CARD_DONE.format(tail=result.card.last4, claimed=claimed)


COMMANDS = (command("bind_card", bind_card, click="BIND_CARD", takes_argument=True),)
