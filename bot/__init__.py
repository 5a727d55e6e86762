"""The WeChat face of the platform: the /wechat callback, handlers and outbound messages."""
from __future__ import annotations


def register(app) -> None:
    """Attach the bot to the application; nothing to attach until the callback exists."""
