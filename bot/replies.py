"""Building passive replies WeChat will always accept.

WeChat shows "该公众号暂时无法提供服务" for broken XML or a text reply with empty
Content, and wechatpy puts Content in CDATA without escaping ``]]>``. So reply
text is cleaned and bounded here, and "nothing to say" becomes ``success``.
"""
from __future__ import annotations

import re
import time

SUCCESS = "success"
# WeChat's documented text limit is 2048 bytes; stay well under it.
MAX_REPLY_BYTES = 1800
ELLIPSIS = "…"
# C0 controls other than tab and newline are invalid in XML 1.0; so are unpaired surrogates.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_REPLY = ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
               "<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               "<Content><![CDATA[{content}]]></Content></xml>")


def sanitize(text: str | None) -> str:
    """Reply text safe inside CDATA and under the size limit; '' when there is nothing to say."""
    if not text:
        return ""
    text = _INVALID_XML.sub("", str(text)).replace("]]>", "]] >").strip()
    return truncate_utf8(text, MAX_REPLY_BYTES)


def truncate_utf8(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes on a character boundary, marking the cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore").rstrip() + ELLIPSIS


def render_text_reply(text: str, push: dict) -> str | None:
    """The reply XML to a push (its raw fields: sender and receiver swapped), or None for ``success``."""
    content = sanitize(text)
    if not content:
        return None
    return _TEXT_REPLY.format(to=_cdata(push.get("FromUserName")), sender=_cdata(push.get("ToUserName")),
                              created=int(time.time()), content=content)


def _cdata(value) -> str:
    return _INVALID_XML.sub("", value if isinstance(value, str) else "").replace("]]>", "]] >")
