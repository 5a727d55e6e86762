"""Helpers for the bot tests: recorded pushes, signed and (in safe/compatible mode) encrypted
exactly as WeChat sends them, posted to the test client, and the replies read back."""
from __future__ import annotations

import re
from pathlib import Path

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.simulator import read_reply, sign_push

from .conftest import TEST_WECHAT

INBOUND = Path(__file__).parent / "fixtures" / "wechat" / "inbound"
RECORDED_OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
MODES = ("plain", "safe", "compatible")


def crypto() -> WeChatCrypto:
    return WeChatCrypto(TEST_WECHAT["WECHAT_TOKEN"], TEST_WECHAT["WECHAT_AES_KEY"], TEST_WECHAT["WECHAT_APPID"])


def load_push(name: str, **fields) -> str:
    """A recorded push with some fields replaced (their CDATA or plain form is kept)."""
    xml = (INBOUND / f"{name}.xml").read_text(encoding="utf-8")
    for field, value in fields.items():
        pattern = re.compile(rf"<{field}>(<!\[CDATA\[)?.*?(\]\]>)?</{field}>", re.S)
        assert pattern.search(xml), f"{name}.xml has no <{field}>"
        xml = pattern.sub(lambda m: f"<{field}>{m.group(1) or ''}{value}{m.group(2) or ''}</{field}>", xml, count=1)
    return xml


def signed_request(xml: str, mode: str = "plain", **sign_kw):
    """(query params, body) for a push in plaintext, safe or compatible mode."""
    if mode == "plain":
        signed = sign_push(xml, TEST_WECHAT["WECHAT_TOKEN"], **sign_kw)
        return signed.params, signed.body
    signed = sign_push(xml, TEST_WECHAT["WECHAT_TOKEN"], crypto(), **sign_kw)
    if mode == "safe":
        return signed.params, signed.body
    # Compatible mode: the plaintext fields and the Encrypt element side by side.
    encrypt = xmltodict.parse(signed.body)["xml"]["Encrypt"]
    body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    return signed.params, body.encode("utf-8")


def post(client, xml: str, mode: str = "plain", **sign_kw):
    params, body = signed_request(xml, mode, **sign_kw)
    return client.post("/wechat", query_string=params, data=body, content_type="text/xml")


def reply_fields(response, mode: str = "plain") -> dict | None:
    """The reply's fields, decrypted in safe/compatible mode; None for ``success``."""
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    if mode != "plain" and body != "success":
        assert "<Encrypt>" in body, "a reply in safe mode must be encrypted"
    return read_reply(body, crypto() if mode != "plain" else None)


def say(client, xml: str, mode: str = "plain") -> str | None:
    """Post a push and return the reply's text (None for ``success``)."""
    fields = reply_fields(post(client, xml, mode), mode)
    if fields is None:
        return None
    assert fields["MsgType"] == "text"
    assert fields["Content"], "a text reply must never be empty"
    return fields["Content"]


_msg_ids = iter(range(7_000_000_000_000_000, 8_000_000_000_000_000))


def text(openid: str, content: str) -> str:
    """A recorded text push from ``openid`` with a fresh MsgId."""
    return load_push("text", FromUserName=openid, Content=content, MsgId=str(next(_msg_ids)))
