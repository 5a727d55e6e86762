"""The JS-SDK's ``wx.config`` for the residents' pages: the jsapi_ticket, shared like the access token.

The ticket lives 7200 s and ``ticket/getticket`` has a daily quota, so it is
kept in the same shared store as the access token (Redis or the database) and
refreshed under its lock by one process. The bot face registers ``sign`` on the
app (``app.extensions[EXTENSION]``); the web face calls it without importing
the bot, and falls back to plain file inputs and typed codes when it is absent
or answers None (WeChat offline: the demo, an account without credentials).
"""
from __future__ import annotations

import logging
import secrets
import time

import requests
from wechatpy.exceptions import WeChatClientException

from .client import WeChatNotConfigured, get_client
from .offline import is_offline

log = logging.getLogger(__name__)
EXTENSION = "wechat_jsapi_config"
TICKET_KIND = "jsapi_ticket"


def jsapi_ticket(client) -> str:
    """The account's current jsapi_ticket, from the shared store or fetched once for everybody."""
    store = client.store
    cached = store.get(client.appid, TICKET_KIND)
    if cached is not None and cached.usable(store.clock()):
        return cached.token

    # The access token first, outside the ticket's lock: on SQLite both locks are the one database write lock.
    client.access_token  # noqa: B018

    def fetch(_force: bool) -> tuple[str, int]:
        answer = client.jsapi.get_ticket("jsapi")
        return answer["ticket"], int(answer.get("expires_in", 7200))

    return store.refresh(client.appid, fetch, kind=TICKET_KIND)


def sign_page(client, url: str, *, now: float | None = None, nonce: str | None = None) -> dict:
    """What ``wx.config`` needs for the page at ``url`` (without its #fragment), signed with wechatpy."""
    timestamp = int(now if now is not None else time.time())
    nonce = nonce or secrets.token_hex(8)
    signature = client.jsapi.get_jsapi_signature(nonce, jsapi_ticket(client), timestamp, url.split("#", 1)[0])
    return {"appId": client.appid, "timestamp": timestamp, "nonceStr": nonce, "signature": signature}


def register_signer(app) -> None:
    """Offer the web face ``sign(url) -> dict | None`` (None when WeChat cannot be asked)."""
    def sign(url: str) -> dict | None:
        try:
            client = get_client(app)
            if is_offline(client):
                return None
            return sign_page(client, url)
        except WeChatNotConfigured:
            return None
        except (WeChatClientException, requests.RequestException) as exc:
            log.warning("jsapi_ticket unavailable: %s", exc)
            return None

    app.extensions[EXTENSION] = sign
