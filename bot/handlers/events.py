"""Events (MsgType=event): follows, scans, menu clicks and reports about our own sends."""
from __future__ import annotations

import logging

from carbon_credit.residents.accounts import follow_resident, unfollow_resident
from carbon_credit.scans import is_known_scene

from .. import texts
from ..outbound import record_mass_send_result, record_template_result
from .checkin import check_in

log = logging.getLogger(__name__)
QRSCENE_PREFIX = "qrscene_"


def subscribe(push) -> str:
    """A follow, plain or by scanning a parametric QR code (EventKey ``qrscene_<scene>``)."""
    resident, returning = follow_resident(push.session, push.openid, push.now, hash_key=push.keys.openid_hash)
    if resident.status == "blocked":
        return texts.ACCOUNT_SUSPENDED
    key = push.field("EventKey")
    if key.startswith(QRSCENE_PREFIX):
        greeting = texts.WELCOME_BACK_SHORT if returning else texts.WELCOME_SHORT
        return greeting + "\n" + check_in(push, resident, key[len(QRSCENE_PREFIX):])
    return texts.WELCOME_BACK if returning else texts.WELCOME


def unsubscribe(push) -> None:
    """The person is unlinked and anonymised; nothing can be shown to them any more."""
    unfollow_resident(push.session, push.openid, push.now, hash_key=push.keys.openid_hash)
    return None


def scan(push) -> str:
    """A follower scanned a parametric QR code: EventKey is the scene itself."""
    return check_in(push, push.resident(), push.field("EventKey"))


def scancode(push) -> str | None:
    """The menu's scanner: a scene-like code checks in; anything else the client shows by itself
    (scancode_push) or gets a short note (scancode_waitmsg, which waits for our answer)."""
    info = push.raw.get("ScanCodeInfo")
    result = (info.get("ScanResult") if isinstance(info, dict) else None) or ""
    if is_known_scene(result.strip()):
        return check_in(push, push.resident(), result.strip())
    return texts.SCANCODE_UNKNOWN if push.field("Event").lower() == "scancode_waitmsg" else None


def click(push) -> str:
    return push.handlers.commands.run_click(push, push.field("EventKey"))


def nothing_to_say(push) -> None:
    """Reported location (nothing is stored) and menu links: no answer is expected."""
    return None


def template_finished(push) -> None:
    msg_id = push.field("MsgID")
    if not msg_id.isdigit():
        log.warning("TEMPLATESENDJOBFINISH without a numeric MsgID ignored")
        return None
    record_template_result(push.session, push.openid, msg_id, push.field("Status"), push.now)
    return None


def mass_send_finished(push) -> None:
    msg_id = push.field("MsgID")
    if not msg_id.isdigit():
        log.warning("MASSSENDJOBFINISH without a numeric MsgID ignored")
        return None
    counts = {name: _int(push.field(name)) for name in ("TotalCount", "FilterCount", "SentCount", "ErrorCount")}
    counts["status"] = push.field("Status")
    record_mass_send_result(push.session, msg_id, counts, push.now)
    return None


def subscription_message_event(push) -> None:
    """wechatpy parses these as UnknownMessage: read the raw ``List`` entries (one or several)."""
    event = push.field("Event")
    container = push.raw.get(_CONTAINERS[event.lower()])
    entries = container.get("List") if isinstance(container, dict) else None
    if isinstance(entries, dict):
        entries = [entries]
    choices = [
        {"template_id": e.get("TemplateId") or "", "status": e.get("SubscribeStatusString") or e.get("ErrorStatus")
         or "", "msg_id": e.get("MsgID") or "", "error_code": e.get("ErrorCode") or ""}
        for e in entries or () if isinstance(e, dict)
    ]
    # The platform sends template messages, not subscription messages: the choice is logged for operators.
    log.info("wechat %s: %s", event.lower(), choices)
    return None


_CONTAINERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


EVENTS = {
    "subscribe": subscribe, "unsubscribe": unsubscribe, "SCAN": scan, "scancode_push": scancode,
    "scancode_waitmsg": scancode, "CLICK": click, "LOCATION": nothing_to_say, "VIEW": nothing_to_say,
    "TEMPLATESENDJOBFINISH": template_finished, "MASSSENDJOBFINISH": mass_send_finished,
    "subscribe_msg_popup_event": subscription_message_event, "subscribe_msg_change_event": subscription_message_event,
    "subscribe_msg_sent_event": subscription_message_event,
}
# Reported location (WeChat sends it every few seconds while a chat is open) and menu links.
STATELESS = frozenset({"LOCATION", "VIEW"})
