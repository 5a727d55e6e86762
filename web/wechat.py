"""What the console asks of WeChat, through the services the WeChat face put on the application.

The console never imports the bot: ``bot.register`` leaves its QR-code services
on ``app.extensions["carbon_wechat"]``. On a server without the WeChat face every
call says so with the domain's ``wechat_not_configured``.
"""
from __future__ import annotations

from flask import current_app

from carbon_credit.errors import WeChatNotConfigured

__all__ = ["WeChatNotConfigured", "describe_error", "get_client", "qrcode_for_request", "resolve_qr_request",
           "stored_qrcode_for_target"]


def _services():
    services = current_app.extensions.get("carbon_wechat")
    if services is None:
        raise WeChatNotConfigured("The WeChat face is not registered on this server.")
    return services


def get_client():
    return _services().get_client()


def describe_error(exc: Exception) -> str:
    return _services().describe_error(exc)


def resolve_qr_request(session, target_type: str, target_id: int, **kwargs):
    return _services().resolve_qr_request(session, target_type, target_id, **kwargs)


def qrcode_for_request(session, client, request, now, **kwargs):
    return _services().qrcode_for_request(session, client, request, now, **kwargs)


def stored_qrcode_for_target(session, target_type: str, target_id: int, now, **kwargs):
    return _services().stored_qrcode_for_target(session, target_type, target_id, now, **kwargs)
