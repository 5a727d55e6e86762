"""wechatpy's client, with the access token from ``stable_token`` in a shared store.

wechatpy 1.8 fetches the token with ``GET /cgi-bin/token`` (which invalidates
the token every other process holds) and keeps the expiry in the process. This
subclass asks ``POST /cgi-bin/stable_token`` instead, keeps token and expiry in
a ``TokenStore`` shared by every process, and on a token error (40001, 40014,
42001) refreshes once with ``force_refresh`` and retries the call once, where
wechatpy would retry for as long as WeChat keeps refusing.
"""
from __future__ import annotations

import logging

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from carbon_credit.errors import WeChatNotConfigured

from ..database import db
from .offline import OfflineClient
from .token_store import DatabaseTokenStore, RedisTokenStore

log = logging.getLogger(__name__)

STABLE_TOKEN_URL = "https://api.weixin.qq.com/cgi-bin/stable_token"
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
DEFAULT_EXPIRES_IN = 7200

# What an operator should do about the errors that stop the outbound side (printed by the CLI).
ERROR_HINTS = {
    -1: "微信系统繁忙，请稍后重试",
    40001: "access_token 无效，强制刷新一次后仍被拒绝：检查 WECHAT_SECRET 是否已在公众平台重置",
    40013: "AppID 无效：检查 WECHAT_APPID",
    40125: "AppSecret 无效：检查 WECHAT_SECRET",
    40164: "本服务器的出口 IP 不在公众号的 IP 白名单中：到 设置与开发 → 基本配置 → IP白名单 添加",
    42001: "access_token 已过期，强制刷新一次后仍被拒绝",
    45009: "接口调用已超过今日限额，明天再试或在公众平台清零",
    48001: "接口未授权：该公众号没有此接口的权限（需要已认证的服务号）",
    40016: "菜单一级按钮个数不合法",
    40017: "菜单按钮类型不合法",
    40018: "菜单按钮名字长度不合法",
    40019: "菜单按钮 KEY 长度不合法",
    40023: "菜单子按钮个数不合法",
    40055: "菜单按钮 URL 不合法",
    53500: "发布功能被封禁",
}


class SharedTokenClient(WeChatClient):
    offline = False  # it calls WeChat (see offline.OfflineClient for the stand-in)

    def __init__(self, appid: str, secret: str, store, *, timeout: float):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.store = store

    @property
    def access_token(self) -> str:
        cached = self.store.get(self.appid)
        if cached is not None and cached.usable(self.store.clock()):
            return cached.token
        return self.store.refresh(self.appid, self._fetch_stable_token)

    def fetch_access_token(self, force: bool = False, stale: str | None = None) -> str:
        """The shared token after a refresh; with ``force`` WeChat is asked for a new one."""
        return self.store.refresh(self.appid, self._fetch_stable_token, force=force, stale=stale)

    def _fetch_stable_token(self, force: bool) -> tuple[str, int]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": bool(force)}
        log.info("fetching the WeChat access token (force_refresh=%s)", bool(force))
        res = self._http.post(STABLE_TOKEN_URL, json=body, timeout=self.timeout)
        try:
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(None, str(exc), client=self, request=exc.request, response=exc.response)
        result = res.json()
        if result.get("errcode"):
            raise WeChatClientException(int(result["errcode"]), result.get("errmsg", ""), client=self,
                                        request=res.request, response=res)
        return result["access_token"], int(result.get("expires_in", DEFAULT_EXPIRES_IN))

    def _request(self, method, url_or_endpoint, **kwargs):
        params = kwargs.get("params")
        if isinstance(params, dict) and "access_token" in params:
            return super()._request(method, url_or_endpoint, **kwargs)
        token = self.access_token
        try:
            return super()._request(method, url_or_endpoint, **_with_token(kwargs, token))
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            log.warning("WeChat refused the access token (%s); refreshing once", exc.errcode)
            fresh = self.fetch_access_token(force=True, stale=token)
            return super()._request(method, url_or_endpoint, **_with_token(kwargs, fresh))


def _with_token(kwargs: dict, token: str) -> dict:
    call = dict(kwargs)
    params = dict(call.get("params") or {})
    params["access_token"] = token
    call["params"] = params
    return call


def describe_error(exc: Exception) -> str:
    """A line an operator can act on, for a WeChat error or a network failure."""
    errcode = getattr(exc, "errcode", None)
    if errcode is None:
        return f"无法连接微信服务器：{exc}"
    hint = ERROR_HINTS.get(errcode, "见微信全局返回码说明")
    return f"微信返回错误 {errcode}：{hint}（errmsg: {getattr(exc, 'errmsg', '')}）"


def token_store_from_config(config, engine):
    """Redis when REDIS_URL is set (production), the database otherwise."""
    url = config.get("REDIS_URL")
    if url:
        import redis

        return RedisTokenStore(redis.Redis.from_url(url), prefix=config["WECHAT_REDIS_PREFIX"])
    return DatabaseTokenStore(engine)


def client_from_config(config, engine):
    """The one place that decides how this server talks to WeChat.

    Offline (WECHAT_OFFLINE, by default when there are no credentials or only the demo's stand-ins):
    the ``OfflineClient``, which records instead of sending. Otherwise the shared-token client, which
    needs the account's AppID and AppSecret.
    """
    appid, secret = config.get("WECHAT_APPID"), config.get("WECHAT_SECRET")
    if config.get("WECHAT_OFFLINE"):
        log.info("WeChat is offline on this server: the menu, QR codes, template messages and mass sends "
                 "are recorded as they would have been sent, not sent (WECHAT_OFFLINE)")
        return OfflineClient(appid or "")
    if not appid or not secret:
        raise WeChatNotConfigured("WECHAT_APPID and WECHAT_SECRET must be set to call the WeChat API.")
    if config.get("WECHAT_DEMO"):
        raise WeChatNotConfigured("The demo's stand-in WeChat credentials cannot call the WeChat API; "
                                  "set WECHAT_APPID and WECHAT_SECRET of a real account.")
    store = token_store_from_config(config, engine)
    return SharedTokenClient(appid, secret, store, timeout=config["WECHAT_API_TIMEOUT"])


def get_client(app=None):
    """The application's client (one per process; the token itself is shared by all), offline or not."""
    from flask import current_app

    app = app or current_app._get_current_object()
    client = app.extensions.get("wechat_client")
    if client is None:
        with app.app_context():
            client = client_from_config(app.config, db.engine)
        app.extensions["wechat_client"] = client
    return client
