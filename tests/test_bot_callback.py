"""The /wechat callback's protocol: verification, modes, bad input, and what a reply may contain."""
from __future__ import annotations

import time

import pytest
import xmltodict
from freezegun import freeze_time
from sqlalchemy import func, select
from wechatpy.utils import WeChatSigner

from bot.replies import MAX_REPLY_BYTES, sanitize
from bot.simulator import text_push
from carbon_credit.models import InboundMessage, Resident

from .bot_support import MODES, RECORDED_OPENID, load_push, post, reply_fields, say, signed_request, text
from .conftest import TEST_WECHAT
from .campaign_support import plain_campaign
from .factories import FIXED_NOW, make_community, make_resident


def _signature(token, timestamp, nonce):
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return signer.signature


def test_get_verification_echoes_echostr_as_plain_text(client):
    ts, nonce = str(int(time.time())), "1514257302"
    response = client.get("/wechat", query_string={
        "signature": _signature(TEST_WECHAT["WECHAT_TOKEN"], ts, nonce), "timestamp": ts, "nonce": nonce,
        "echostr": "4826157374837581720"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "4826157374837581720"


@pytest.mark.parametrize("change", ["signature", "token", "stale", "future", "missing"])
def test_get_verification_refuses_bad_signatures_and_stale_timestamps(client, change, caplog):
    ts, nonce = int(time.time()), "1514257302"
    if change == "stale":
        ts -= 301
    if change == "future":
        ts += 301
    token = "another-token" if change == "token" else TEST_WECHAT["WECHAT_TOKEN"]
    signature = _signature(token, str(ts), nonce)
    if change == "signature":
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    query = {"signature": signature, "timestamp": str(ts), "nonce": nonce, "echostr": "echo"}
    if change == "missing":
        del query["signature"]
    response = client.get("/wechat", query_string=query)
    assert response.status_code == 403
    assert "echo" not in response.get_data(as_text=True)
    assert "wechat callback refused" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_post_with_wrong_signature_is_refused_and_nothing_is_written(client, session, mode):
    params, body = signed_request(text("o-forger", "余额"), mode)
    params["signature"] = "0" * 40
    response = client.post("/wechat", query_string=params, data=body)
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


@pytest.mark.parametrize("mode", ["safe", "compatible"])
def test_post_with_wrong_msg_signature_is_refused(client, session, mode):
    params, body = signed_request(text("o-forger", "余额"), mode)
    params["msg_signature"] = "f" * 40
    assert client.post("/wechat", query_string=params, data=body).status_code == 403
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_a_replayed_push_with_an_old_timestamp_is_refused(client, session):
    params, body = signed_request(text("o-replay", "余额"), "safe", timestamp=int(time.time()) - 600)
    assert client.post("/wechat", query_string=params, data=body).status_code == 403
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_answers_and_safe_replies_are_encrypted(client, mode):
    response = post(client, text("o-modes", "帮助"), mode)
    fields = reply_fields(response, mode)
    assert fields["ToUserName"] == "o-modes"
    assert fields["FromUserName"] == "gh_7f083739789a"  # the account's id from the push's ToUserName
    assert "余额" in fields["Content"]
    if mode != "plain":
        envelope = xmltodict.parse(response.get_data(as_text=True))["xml"]
        assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}


def test_plaintext_pushes_still_work_when_an_aes_key_is_configured(client):
    """The console's compatible phase: WeChat may still send plaintext while the key is set."""
    assert "积分" in say(client, text("o-plain", "余额"), "plain")


def test_success_is_never_encrypted(client):
    response = post(client, load_push("event_view", FromUserName="o-view"), "safe")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "success"


def test_encrypted_push_without_aes_key_is_answered_success(app, client, caplog):
    app.extensions.pop("wechat_bot", None)
    app.config["WECHAT_AES_KEY"] = ""
    response = post(client, text("o-nokey", "余额"), "safe")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    assert "WECHAT_AES_KEY is not configured" in caplog.text


BAD_BODIES = {
    "empty": b"",
    "blank": b"   \n",
    "not xml": b"hello",
    "json": b'{"MsgType": "text"}',
    "no root fields": b"<xml></xml>",
    "malformed": load_push("bad_malformed").encode(),
    "doctype with entities": load_push("bad_doctype_entities").encode(),
    "external entity": load_push("bad_external_entity").encode(),
    "missing MsgType": load_push("bad_missing_msgtype").encode(),
    "missing FromUserName": b"<xml><MsgType><![CDATA[text]]></MsgType><Content>x</Content><MsgId>1</MsgId></xml>",
    "comment": b"<xml><!-- hi --><MsgType>text</MsgType></xml>",
    "sender longer than an openid": text("o-" + "x" * 63, "余额").encode(),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_are_answered_success_and_logged_never_500(client, session, name, caplog):
    ts, nonce = str(int(time.time())), "5550123"
    params = {"signature": _signature(TEST_WECHAT["WECHAT_TOKEN"], ts, nonce), "timestamp": ts, "nonce": nonce}
    response = client.post("/wechat", query_string=params, data=BAD_BODIES[name])
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    assert "wechat push ignored" in caplog.text
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


@pytest.mark.parametrize("name", ["bad_doctype_entities", "bad_missing_msgtype", "bad_malformed"])
def test_bad_bodies_inside_the_encryption_are_answered_success(client, session, name):
    params, body = signed_request(load_push(name), "safe")
    response = client.post("/wechat", query_string=params, data=body)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_garbage_ciphertext_is_answered_success(client):
    params, _ = signed_request(text("o-garbage", "余额"), "safe")
    encrypt = "bm90IHJlYWxseSBjaXBoZXJ0ZXh0"
    signer = WeChatSigner()
    signer.add_data(TEST_WECHAT["WECHAT_TOKEN"], params["timestamp"], params["nonce"], encrypt)
    params["msg_signature"] = signer.signature
    body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    response = client.post("/wechat", query_string=params, data=body)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")


def test_a_body_over_64_kib_is_answered_success(client):
    xml = text("o-big", "余" * 30000)
    assert post(client, xml).get_data(as_text=True) == "success"


@pytest.mark.parametrize("name", ["unknown_type", "unknown_event"])
def test_unknown_types_are_answered_success(client, name, caplog):
    caplog.set_level("INFO")
    assert say(client, load_push(name), "safe") is None
    assert "unhandled" in caplog.text


def test_a_handler_failure_is_answered_success_and_rolled_back(app, client, session, monkeypatch, caplog):
    def broken(push):
        push.resident()  # writes the resident, which must be rolled back
        raise RuntimeError("boom")

    monkeypatch.setitem(app.extensions["wechat_handlers"].messages, "text", broken)
    response = post(client, text("o-broken", "余额"))
    assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    assert "failed; answered success" in caplog.text
    assert session.scalar(select(func.count()).select_from(Resident)) == 0
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0  # a retry may try again


def test_sanitize_keeps_cdata_whole_and_replies_short():
    assert "]]>" not in sanitize("a]]>b")
    assert sanitize("a\x00b\x07c") == "abc"
    long = sanitize("碳" * 2000)
    assert len(long.encode("utf-8")) <= MAX_REPLY_BYTES and long.endswith("…")
    assert sanitize("   ") == "" and sanitize(None) == ""


def test_user_text_with_cdata_terminator_gets_a_valid_reply(client):
    """WeChat splits CDATA around ]]> in what users type; the push parses and gets an answer."""
    reply = say(client, text_push("o-cdata", "]]><evil/>"), "safe")
    assert reply and "<evil/>" not in reply


def test_campaign_titles_with_cdata_terminator_cannot_break_the_reply(client, session):
    home = make_community(session)
    make_resident(session, "o-cdata-2", community=home)
    plain_campaign(session, [home], title="分类]]><x/>周")
    session.commit()
    with freeze_time(FIXED_NOW):
        reply = say(client, text("o-cdata-2", "活动"), "safe")
    assert "分类]] ><x/>周" in reply


def test_every_reply_stays_under_the_size_limit(client, session):
    with freeze_time(FIXED_NOW):
        for content in ("余额", "明细", "活动", "排行", "绑卡", "帮助", "随便说点什么"):
            reply = say(client, text(RECORDED_OPENID, content), "safe")
            assert 0 < len(reply.encode("utf-8")) < 2048


def test_safe_mode_reads_what_wechat_encrypts_and_wechat_reads_what_it_encrypts():
    """The envelope both ways against wechatpy's implementation of WeChat's scheme, and a foreign account's push."""
    from wechatpy.crypto import WeChatCrypto

    from bot.safemode import SafeMode, WrongAccount

    token, key, appid = TEST_WECHAT["WECHAT_TOKEN"], TEST_WECHAT["WECHAT_AES_KEY"], TEST_WECHAT["WECHAT_APPID"]
    ours, theirs = SafeMode(token, key, appid), WeChatCrypto(token, key, appid)
    push = text("o-envelope", "余额 ]]> 查一下")
    sent = xmltodict.parse(theirs.encrypt_message(push, "n0nce", "1780000000"))["xml"]
    assert ours.decrypt(sent["Encrypt"]).decode("utf-8") == push
    for reply in ("<xml><Content><![CDATA[您的积分：0 分]]></Content></xml>", "x" * 31, "y" * 32, ""):
        envelope = xmltodict.parse(ours.encrypt(reply, "n0nce", "1780000001"))["xml"]
        assert theirs.decrypt_message(envelope, envelope["MsgSignature"], "1780000001", "n0nce") == reply
    foreign = xmltodict.parse(WeChatCrypto(token, key, "wx-another-account").encrypt_message(push, "n", "1"))["xml"]
    with pytest.raises(WrongAccount):
        ours.decrypt(foreign["Encrypt"])
    for broken in ("bm90IHJlYWxseSBjaXBoZXJ0ZXh0", "", "%%%"):
        with pytest.raises(ValueError):
            ours.decrypt(broken)
    for bad_key in ("short", key[:-1] + "!", key + "A"):
        with pytest.raises(ValueError):
            SafeMode(token, bad_key, appid)


def test_a_push_is_answered_without_a_cookie_with_its_type_and_length(client):
    response = post(client, text("o-headers", "余额"), "safe")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert "Set-Cookie" not in response.headers
    success = post(client, load_push("event_location", FromUserName="o-headers"))
    assert (success.headers["Content-Type"], success.get_data()) == ("text/plain; charset=utf-8", b"success")


def test_other_methods_and_paths_beside_the_callback_are_flasks(client):
    assert client.put("/wechat").status_code == 405
    assert client.post("/wechat/").status_code == 404
    assert client.get("/ping").get_json() == {"status": "ok"}


def test_an_unforeseen_failure_is_a_500_that_is_logged_and_returns_the_connection(app, client, session,
                                                                                  monkeypatch, caplog):
    import bot.callback

    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.callback, "render_text_reply", broken)
    response = post(client, text("o-newcomer", "余额"))  # registered the ordinary way, in a transaction
    assert response.status_code == 500
    assert "wechat callback failed" in caplog.text
    with app.app_context():
        pool = app.extensions["sqlalchemy"].engine.pool
        assert not hasattr(pool, "checkedout") or pool.checkedout() == 0  # the context's teardown ran
    assert session.scalar(select(func.count()).select_from(Resident)) == 1


def test_pushes_skip_only_app_wide_hooks_that_do_nothing_for_them(app):
    """Pushes are answered in front of Flask (bot.callback.PushEndpoint): an app-wide hook never sees one.

    A new app-wide hook must be one a push can do without (add it here), or be done for pushes too.
    """
    def names(funcs):
        return {f.__qualname__ for f in funcs}

    skipped = {"CSRFProtect.init_app.<locals>.csrf_protect",  # checks only the console's forms
               "warn_when_serving_on_demo_keys.<locals>.warn"}  # warns once, at the first request served
    assert names(app.before_request_funcs.get(None, ())) <= skipped
    for hooks in (app.after_request_funcs, app.teardown_request_funcs, app.url_value_preprocessors):
        assert not hooks.get(None)
    # The application context's teardown does run for pushes: it removes the database session.
    assert names(app.teardown_appcontext_funcs) == {"SQLAlchemy._teardown_session"}
