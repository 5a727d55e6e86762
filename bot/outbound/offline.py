"""The WeChat client of a server that does not call WeChat (WECHAT_OFFLINE): the demo, an intranet trial.

It offers the same calls as ``SharedTokenClient`` (menu, parametric QR codes,
template messages, mass sends) and answers each the way WeChat accepts it,
without a network call. The flows above it are the production ones: they
check, claim, lease and record exactly as they do online, so what lands in
the send records (发送记录) is what would have gone out, to whom and when,
marked ``offline`` because the flows see ``client.offline``.

A QR code made offline encodes its scene itself (``campaign:12``), which the
menu's scanner and the H5 check-in page both understand, so a trial can check
residents in without an official account. The JS-SDK is not signed offline:
the residents' pages fall back to a file input and a typed code.
"""
from __future__ import annotations

import secrets
from types import SimpleNamespace

from carbon_credit.errors import WeChatNotConfigured

OFFLINE_ANSWER = "ok (offline)"


def _message_id() -> int:
    """A message id no WeChat message will ever be matched with (their results never come)."""
    return secrets.randbits(52) + 1


class OfflineClient:
    """Stands in for ``SharedTokenClient`` where WeChat is not called; it keeps no state, so threads share it."""

    offline = True

    def __init__(self, appid: str = ""):
        self.appid = appid
        self.menu = SimpleNamespace(create=self._create_menu)
        self.qrcode = SimpleNamespace(create=self._create_qrcode)
        self.message = SimpleNamespace(send_template=self._send_template, send_mass_text=self._send_mass_text)

    @property
    def access_token(self) -> str:
        """There is no token to settle: nothing is fetched from WeChat."""
        return ""

    @property
    def jsapi(self):
        raise WeChatNotConfigured("WeChat is offline on this server: the JS-SDK cannot be signed.")

    @staticmethod
    def _create_menu(menu: dict) -> dict:
        return {"errcode": 0, "errmsg": OFFLINE_ANSWER}

    @staticmethod
    def _create_qrcode(body: dict) -> dict:
        scene = body["action_info"]["scene"]["scene_str"]
        answer = {"ticket": f"offline-{secrets.token_hex(16)}", "url": scene}
        if "expire_seconds" in body:
            answer["expire_seconds"] = body["expire_seconds"]
        return answer

    @staticmethod
    def _send_template(openid: str, template_id: str, data: dict, url: str | None = None, **kwargs) -> dict:
        return {"errcode": 0, "errmsg": OFFLINE_ANSWER, "msgid": _message_id()}

    @staticmethod
    def _send_mass_text(openids, text: str, client_msg_id: str | None = None, **kwargs) -> dict:
        return {"errcode": 0, "errmsg": OFFLINE_ANSWER, "msg_id": _message_id(), "msg_data_id": _message_id()}


def is_offline(client) -> bool:
    """Whether ``client`` records instead of sending (test doubles and the real client: no)."""
    return getattr(client, "offline", False) is True
