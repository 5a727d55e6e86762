"""The /wechat callback: verify, decrypt, parse, de-duplicate, dispatch, reply, encrypt.

Every request is verified (signature in constant time, timestamp no older than
five minutes); a bad one gets 403. Everything after that is answered 200: with
a reply, or with ``success`` for bad bodies, unknown types, duplicates and
errors (WeChat shows "该公众号暂时无法提供服务" for anything else). Nothing on this
path calls WeChat's API, so each push is answered in milliseconds.

The console's URL check (GET) is a Flask view. Pushes (POST) are answered by
``PushEndpoint``, a WSGI application in front of Flask's, in the application's
context but without Flask's request machinery: a push needs no session cookie,
CSRF check, routing among the platform's two hundred rules, request and response
objects or signals, and those were about a fifth of a 余额's CPU in the worker.
"""
from __future__ import annotations

import hmac
import logging
import re
import time
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, request
from werkzeug.wsgi import get_content_length, get_input_stream

from .database import db
from carbon_credit.models import Resident
from carbon_credit.timeutil import utcnow

from .dedupe import NO_STORE, DuplicatePush, dedupe_key
from .handlers import EXTENSION as HANDLERS, Push, dispatch, read_only_answer
from .replies import SUCCESS, render_text_reply, sanitize
from .safemode import WrongAccount, signature
from .settings import bot_settings

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

MAX_AGE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
OPENID_MAX = Resident.__table__.c.openid.type.length
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)


class BadBody(Exception):
    """A push we cannot read: answered ``success`` and logged."""


class BadSignature(Exception):
    """A request WeChat did not sign (or signed too long ago): answered 403 and logged."""


@bp.get("/wechat")
def verify():
    """The console's URL check: echo ``echostr`` as plain text (plaintext even in safe mode)."""
    try:
        check_request_signature(bot_settings(current_app), request.args)
    except BadSignature as error:
        return _refuse(error)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


class PushEndpoint:
    """POST /wechat as a plain WSGI application; every other request goes on to ``wsgi_app`` (Flask's).

    Each push runs in an application context, so ``db.session``, ``current_app`` and the
    context's teardown (the session is removed) work as in a view. ``bot.register`` puts it in
    front of the application's ``wsgi_app``; an app-wide ``before_request`` or ``after_request``
    hook does not see pushes (tests/test_bot_callback.py lists the ones there are).
    """

    PATH = "/wechat"

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        try:
            with self.app.app_context():
                status, content_type, body = receive(self.app, environ)
        except Exception:
            log.exception("wechat callback failed")
            status, content_type, body = "500 INTERNAL SERVER ERROR", _TEXT, b"internal server error"
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


_TEXT, _XML = "text/plain; charset=utf-8", "application/xml; charset=utf-8"
_SUCCESS = ("200 OK", _TEXT, SUCCESS.encode())  # WeChat's "nothing to say": never encrypted
_FORBIDDEN = ("403 FORBIDDEN", _TEXT, b"forbidden")


def receive(app, environ) -> tuple[str, str, bytes]:
    """A push's answer: (status, content type, body)."""
    settings = bot_settings(app)
    args = query_args(environ)
    try:
        check_request_signature(settings, args)
        raw = read_fields(_plaintext(settings, _read_body(environ), args))
    except BadSignature as error:
        _log_refusal(error, environ.get("REMOTE_ADDR"))
        return _FORBIDDEN
    except BadBody as error:
        log.warning("wechat push ignored: %s", error)
        return _SUCCESS
    except Exception:  # a parser corner we did not foresee must still not become a 500
        log.exception("wechat push could not be read")
        return _SUCCESS
    reply = answer(app, settings, raw)
    return _respond(settings, reply, raw, args)


def query_args(environ) -> dict:
    """The query string's parameters, the first value of each (as Flask's ``request.args.get``)."""
    query = environ.get("QUERY_STRING", "").encode("latin-1", "replace").decode("utf-8", "replace")
    args: dict = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        args.setdefault(name, value)
    return args


def check_request_signature(settings, args) -> None:
    """sha1 of the sorted token, timestamp and nonce, compared in constant time; fresh timestamps only."""
    if not settings.token:
        raise BadSignature("WECHAT_TOKEN is not configured")
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not _signature_matches(args.get("signature", ""), settings.token, timestamp, nonce):
        raise BadSignature("wrong signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        raise BadSignature(f"stale or invalid timestamp {timestamp[:20]!r}")


def _signature_matches(given: str, *parts: str) -> bool:
    return hmac.compare_digest(signature(*parts).encode(), given.encode("utf-8", "replace"))


def _read_body(environ) -> bytes:
    length = get_content_length(environ) or 0
    if length > MAX_BODY_BYTES:
        raise BadBody(f"body of {length} bytes is too large")
    body = get_input_stream(environ).read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BadBody("body is too large")
    if not body.strip():
        raise BadBody("empty body")
    return body


def refuse_dtd(xml: bytes) -> None:
    """DOCTYPE and entity declarations are refused before any parser sees them (XXE, billion laughs)."""
    if b"<!" in _CDATA.sub(b"", xml):
        raise BadBody("XML with a DOCTYPE, entity or comment")


def _plaintext(settings, body: bytes, args) -> bytes:
    """The push's XML: decrypted in safe and compatible mode (encrypt_type=aes), as sent otherwise."""
    refuse_dtd(body)
    if args.get("encrypt_type", "raw").lower() != "aes":
        return body
    if settings.safe_mode is None:
        raise BadBody("encrypted push but WECHAT_AES_KEY is not configured")
    envelope = _root(body)
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadBody("encrypted push without Encrypt")
    # msg_signature, not signature, covers the ciphertext (wechatpy issue #739); checked once, here.
    if not _signature_matches(args.get("msg_signature", ""), settings.token, args.get("timestamp", ""),
                              args.get("nonce", ""), encrypt):
        raise BadSignature("wrong msg_signature")
    try:
        xml = settings.safe_mode.decrypt(encrypt)
    except WrongAccount:
        raise BadBody("encrypted for another appid") from None
    except Exception as error:  # bad base64, padding or length inside the ciphertext
        raise BadBody(f"cannot decrypt ({type(error).__name__})") from None
    refuse_dtd(xml)
    return xml


def _root(xml: bytes) -> dict:
    """The fields of the ``<xml>`` root, as text (stripped; None when empty) or, for nested elements, dicts
    (a repeated element: a list), read with the C parser in one pass."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, ValueError) as error:
        raise BadBody(f"malformed XML ({type(error).__name__})") from None
    fields = _fields(root) if root.tag == "xml" else None
    if not fields:
        raise BadBody("no <xml> root with fields")
    return fields


def _fields(element) -> dict:
    fields = {}
    for child in element:
        if len(child):
            value = _fields(child)
        else:
            value = child.text.strip() if child.text else None
            value = value or None
        if child.tag not in fields:
            fields[child.tag] = value
        elif isinstance(fields[child.tag], list):
            fields[child.tag].append(value)
        else:
            fields[child.tag] = [fields[child.tag], value]
    return fields


def read_fields(xml: bytes) -> dict:
    """The raw fields as WeChat sent them (before wechatpy rewrites any); MsgType is required."""
    raw = _root(xml)
    if not isinstance(raw.get("MsgType"), str) or not raw["MsgType"].strip():
        raise BadBody("no MsgType")  # wechatpy would raise KeyError (issue #630)
    if not isinstance(raw.get("FromUserName"), str) or not raw["FromUserName"].strip():
        raise BadBody("no FromUserName")
    if len(raw["FromUserName"]) > OPENID_MAX:
        # No openid is that long (WeChat's have 28 characters); the column could not hold it on PostgreSQL.
        raise BadBody(f"FromUserName of {len(raw['FromUserName'])} characters is longer than an openid")
    return raw


def answer(app, settings, raw: dict) -> str:
    """The reply text for a push ('' = success), the same for every retry of it.

    A push that only reads (余额 from an active follower) is answered first and then kept under
    its key in one step (Redis: SET NX EX with the answer itself); a retry, here or on another
    instance, finds that answer and sends it instead of its own. Every other push claims its key
    before it is handled, so it is never handled twice.
    """
    session, now, key = db.session, utcnow(), dedupe_key(raw)
    handlers = app.extensions[HANDLERS]
    store = settings.dedupe_store() if handlers.needs_dedupe(raw) else NO_STORE
    push = Push(session, now, raw, settings.keys, handlers, h5_url=settings.h5_url, appid=settings.appid,
                engine=db.engine)
    try:
        quick = read_only_answer(push)
    except Exception:
        log.exception("wechat push of type %s could not be read at once; handled the ordinary way",
                      raw.get("MsgType"))
        quick = None
    if quick is not None:
        return _keep(store, session, key, sanitize(quick), now)
    try:
        first = store.begin(session, key, now)
        if first is not None:
            session.rollback()
            log.info("wechat retry answered with the first reply")
            return first
        reply = sanitize(dispatch(push))
        store.finish(session, key, reply, now)
        session.commit()
    except DuplicatePush as duplicate:
        return duplicate.reply
    except Exception:
        session.rollback()
        store.abandon(key)
        log.exception("wechat push of type %s failed; answered success", raw.get("MsgType"))
        return ""
    store.settle(key, reply)
    return reply


def _keep(store, session, key: str, reply: str, now) -> str:
    try:
        first = store.keep(session, key, reply, now)
    except Exception:
        session.rollback()
        log.exception("wechat answer could not be kept for retries; sent anyway")
        return reply
    if first is not None:
        log.info("wechat retry answered with the first reply")
        return first
    return reply


def _respond(settings, reply: str, raw: dict, args) -> tuple[str, str, bytes]:
    xml = render_text_reply(reply, raw) if reply else None
    if xml is None:
        return _SUCCESS
    if args.get("encrypt_type", "raw").lower() == "aes" and settings.safe_mode is not None:
        xml = settings.safe_mode.encrypt(xml, args.get("nonce", ""))
    return "200 OK", _XML, xml.encode("utf-8")


def _refuse(error: Exception) -> Response:
    _log_refusal(error, request.remote_addr)
    return Response("forbidden", status=403, mimetype="text/plain")


def _log_refusal(error: Exception, address: str | None) -> None:
    log.warning("wechat callback refused from %s: %s", address, error)
