"""The callback's settings, read once per application from its config.

WECHAT_TOKEN signs every push; WECHAT_AES_KEY (the console's EncodingAESKey)
with WECHAT_APPID turns on safe and compatible mode; REDIS_URL moves the
de-duplication of retries to Redis. OPENID_HASH_KEY (settled by the app's
configuration) keys the hash that lets a returning follower find their account.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from .dedupe import store_for
from .handlers import Keys
from .safemode import SafeMode

log = logging.getLogger(__name__)
EXTENSION = "wechat_bot"


@dataclass(frozen=True)
class BotSettings:
    token: str
    appid: str
    safe_mode: SafeMode | None  # None: encrypted pushes are refused
    redis_url: str | None
    keys: Keys
    h5_url: str | None = None  # the residents' pages (WECHAT_H5_URL), for links in replies

    def dedupe_store(self):
        return store_for(self.redis_url)


def make_safe_mode(token: str, aes_key: str, appid: str) -> SafeMode | None:
    """The AES envelope, or None (encrypted pushes are then refused) when the key is absent or invalid."""
    if not aes_key:
        return None
    try:
        return SafeMode(token, aes_key, appid)
    except ValueError:  # wrong length or not base64: a console copy-paste error
        log.error("WECHAT_AES_KEY is not a valid 43-character EncodingAESKey; safe mode is off")
        return None


def load_settings(config) -> BotSettings:
    token = config.get("WECHAT_TOKEN") or ""
    appid = config.get("WECHAT_APPID") or ""
    hash_key = config["OPENID_HASH_KEY"]
    return BotSettings(
        token=token,
        appid=appid,
        safe_mode=make_safe_mode(token, config.get("WECHAT_AES_KEY") or "", appid),
        redis_url=config.get("REDIS_URL") or None,
        keys=Keys(openid_hash=hash_key, card_hash=config["CARD_HASH_KEY"],
                  card_claim_window=timedelta(days=config["CARD_CLAIM_WINDOW_DAYS"])),
        h5_url=config.get("WECHAT_H5_URL") or None,
    )


def bot_settings(app) -> BotSettings:
    settings = app.extensions.get(EXTENSION)
    if settings is None:
        settings = app.extensions[EXTENSION] = load_settings(app.config)
    return settings
