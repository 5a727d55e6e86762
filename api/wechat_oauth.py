"""Exchanging a WeChat web-OAuth code (snsapi_base) for the resident's openid.

The H5 pages inside the official account redirect through WeChat, which hands
the page a single-use code that lives five minutes; the server swaps it for the
openid with the account's AppSecret, which never leaves the server.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from flask import current_app
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from carbon_credit.errors import DomainError, WeChatNotConfigured

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 5
# Errors caused by the code the client sent; anything else is WeChat's or our configuration's fault.
CODE_ERRCODES = frozenset({40029, 40163, 41008})  # invalid code, code been used, missing code


class WeChatOAuthFailed(DomainError):
    code = "wechat_oauth_failed"
    status = 400
    message = "WeChat did not accept the sign-in code; open the page from WeChat again."


class WeChatUnavailable(DomainError):
    code = "wechat_unavailable"
    status = 502
    message = "WeChat could not be reached; try again shortly."


class _TimedOAuth(WeChatOAuth):
    """wechatpy's client sends requests without a timeout; a stuck WeChat must not hang a worker."""

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return super()._request(method, url_or_endpoint, **kwargs)


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None


def exchange_code(code: str) -> WeChatIdentity:
    """Swap an OAuth code for the openid (and unionid when the account is bound to Open Platform)."""
    appid, secret = current_app.config["WECHAT_APPID"], current_app.config["WECHAT_SECRET"]
    if not appid or not secret:
        raise WeChatNotConfigured("WeChat sign-in is not configured on this server.")
    # The redirect URI only matters when building the authorise URL, which the H5 page does.
    client = _TimedOAuth(appid, secret, redirect_uri="", scope="snsapi_base")
    try:
        result = client.fetch_access_token(code)
    except WeChatOAuthException as exc:
        raise _translate(exc) from exc
    except requests.RequestException as exc:
        log.warning("WeChat OAuth unreachable: %s", exc)
        raise WeChatUnavailable() from exc
    return WeChatIdentity(openid=result["openid"], unionid=result.get("unionid"))


def _translate(exc: WeChatOAuthException) -> DomainError:
    if exc.errcode in CODE_ERRCODES:
        return WeChatOAuthFailed(errors={"code": [f"{exc.errmsg} ({exc.errcode})"]})
    log.error("WeChat OAuth error errcode=%s errmsg=%s", exc.errcode, exc.errmsg)
    return WeChatUnavailable()
