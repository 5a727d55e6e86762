"""Playing WeChat's part: build a push as WeChat would, sign it, encrypt it, post it, read the answer.

For anyone without an official account (the demo, support, tests): the pushes
are the real XML layouts, signed with WECHAT_TOKEN and, when WECHAT_AES_KEY is
set, encrypted like safe mode, so the server cannot tell them from WeChat's.
"""
from __future__ import annotations

import random
import re
import string
import time
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

ACCOUNT_ID = "gh_0000simulator"  # the official account's original id, as WeChat puts it in ToUserName


class SimulatorError(Exception):
    """The server could not be reached or refused the push."""


class SimulatorUnreachable(SimulatorError):
    """Nothing answers at the address (no server there, or another port)."""


def _cdata(value: str) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _push(openid: str, msg_type: str, fields: dict, created: int) -> str:
    lines = [f"<ToUserName>{_cdata(ACCOUNT_ID)}</ToUserName>", f"<FromUserName>{_cdata(openid)}</FromUserName>",
             f"<CreateTime>{created}</CreateTime>", f"<MsgType>{_cdata(msg_type)}</MsgType>"]
    lines += [f"<{name}>{_cdata(value)}</{name}>" for name, value in fields.items()]
    return "<xml>" + "".join(lines) + "</xml>"


def text_push(openid: str, text: str, *, created: int | None = None, msg_id: int | None = None) -> str:
    created = created or int(time.time())
    xml = _push(openid, "text", {"Content": text}, created)
    return xml.replace("</xml>", f"<MsgId>{msg_id or random.randrange(10**18, 10**19)}</MsgId></xml>")


def event_push(openid: str, event: str, key: str | None = None, *, created: int | None = None,
               **fields: str) -> str:
    values = {"Event": event}
    if key is not None:
        values["EventKey"] = key
    values.update(fields)
    return _push(openid, "event", values, created or int(time.time()))


def scan_push(openid: str, scene: str, *, new: bool = False, created: int | None = None) -> str:
    """A follower's SCAN, or (``new``) the subscribe a non-follower's scan of a parametric QR code sends."""
    ticket = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2tIVVNpbUxfRklfVm0wcXJzQ1hIAAIEsM6VWQMEAAAAAA=="
    if new:
        return event_push(openid, "subscribe", "qrscene_" + scene, created=created, Ticket=ticket)
    return event_push(openid, "SCAN", scene, created=created, Ticket=ticket)


def _nonce() -> str:
    return "".join(random.choices(string.digits, k=10))


@dataclass
class SignedPush:
    params: dict
    body: bytes
    nonce: str
    timestamp: str


def sign_push(xml: str, token: str, crypto: WeChatCrypto | None = None, *, timestamp: int | None = None,
              nonce: str | None = None) -> SignedPush:
    """Query parameters and body as WeChat sends them: plaintext, or encrypted (safe mode) with a crypto."""
    ts, nonce = str(timestamp or int(time.time())), nonce or _nonce()
    signer = WeChatSigner()
    signer.add_data(token, ts, nonce)
    params = {"signature": signer.signature, "timestamp": ts, "nonce": nonce, "openid": _openid_of(xml)}
    if crypto is None:
        return SignedPush(params, xml.encode("utf-8"), nonce, ts)
    envelope = crypto.encrypt_message(xml, nonce, ts)
    params.update(encrypt_type="aes", msg_signature=xmltodict.parse(envelope)["xml"]["MsgSignature"])
    return SignedPush(params, envelope.encode("utf-8"), nonce, ts)


_FROM = re.compile(r"<FromUserName>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</FromUserName>", re.S)


def _openid_of(xml: str) -> str:
    """WeChat repeats the sender in the query string; read without parsing, so any body can be sent."""
    found = _FROM.search(xml)
    return found.group(1) if found else ""


def read_reply(body: str, crypto: WeChatCrypto | None = None) -> dict | None:
    """The reply's fields (decrypted when it came encrypted), or None for ``success``/empty."""
    if not body or body.strip() == "success":
        return None
    fields = xmltodict.parse(body)["xml"]
    if "Encrypt" in fields:
        if crypto is None:
            raise SimulatorError("the server answered encrypted but WECHAT_AES_KEY is not set here")
        fields = xmltodict.parse(crypto.decrypt_message(
            fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]))["xml"]
    return fields


class Simulator:
    """Posts pushes to a running server and returns the reply text ('' for ``success``)."""

    def __init__(self, url: str, token: str, aes_key: str = "", appid: str = "", timeout: float = 10):
        self.url, self.token, self.timeout = url, token, timeout
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    def send(self, xml: str) -> str:
        import requests

        signed = sign_push(xml, self.token, self.crypto)
        try:
            response = requests.post(self.url, params=signed.params, data=signed.body, timeout=self.timeout,
                                     headers={"Content-Type": "text/xml"})
        except requests.ConnectionError:
            raise SimulatorUnreachable(f"cannot reach {self.url}: is the server running there?") from None
        except requests.Timeout:
            raise SimulatorError(f"{self.url} did not answer within {self.timeout:g} s") from None
        if response.status_code == 403:
            raise SimulatorError("the server refused the signature: is WECHAT_TOKEN the same on both sides?")
        if response.status_code != 200:
            raise SimulatorError(f"the server answered HTTP {response.status_code}")
        fields = read_reply(response.text, self.crypto)
        return (fields or {}).get("Content") or ""
