"""wx.config for the residents' pages: the jsapi_ticket is fetched once and shared, the signature is WeChat's."""
from __future__ import annotations

from responses import matchers

from bot.outbound.jsapi import EXTENSION, jsapi_ticket, sign_page

from .factories import make_resident
from .h5_support import demo_app, h5_sign_in  # noqa: F401
from .outbound_support import API, TOKEN, Clock, add_stable_token, db_client, recorded, redis_store, redis_conn, rsps  # noqa: F401

TICKET_URL = API + "ticket/getticket"


def _add_ticket(rsps):
    return rsps.get(TICKET_URL, json=recorded("ticket_getticket_jsapi"),
                    match=[matchers.query_param_matcher({"access_token": TOKEN, "type": "jsapi"})])


def _resident(session):
    resident = make_resident(session, display_name="王秀英")
    session.commit()
    return resident


def test_the_signature_is_the_one_wechats_documentation_gives(engine, rsps):
    add_stable_token(rsps)
    _add_ticket(rsps)
    config = sign_page(db_client(engine), "http://mp.weixin.qq.com?params=value#part", now=1414587457,
                       nonce="Wm3WZYTPz0wzccnW")
    assert config == {"appId": "wx0000000000test", "timestamp": 1414587457, "nonceStr": "Wm3WZYTPz0wzccnW",
                      "signature": "0f9de62fce790f9a083d5c99e95740ceb90c27ed"}


def test_the_ticket_is_fetched_once_and_shared_by_every_client(engine, rsps):
    add_stable_token(rsps)
    _add_ticket(rsps)
    clock = Clock()
    first, second = db_client(engine, clock), db_client(engine, clock)
    assert jsapi_ticket(first) == jsapi_ticket(second) == recorded("ticket_getticket_jsapi")["ticket"]
    assert len([c for c in rsps.calls if c.request.url.startswith(TICKET_URL)]) == 1
    clock.now += 7200
    jsapi_ticket(second)
    assert len([c for c in rsps.calls if c.request.url.startswith(TICKET_URL)]) == 2


def test_the_ticket_is_kept_in_redis_beside_the_token(redis_conn, rsps):
    from bot.outbound.client import SharedTokenClient

    add_stable_token(rsps)
    _add_ticket(rsps)
    store = redis_store(redis_conn)
    client = SharedTokenClient("wx0000000000test", "test-app-secret", store, timeout=10.0)
    jsapi_ticket(client)
    assert store.get("wx0000000000test", "jsapi_ticket").token == recorded("ticket_getticket_jsapi")["ticket"]
    assert store.get("wx0000000000test").token == TOKEN


def test_the_page_gets_its_config_from_the_signer_the_bot_registered(demo_app, client, session):
    seen = []
    demo_app.extensions[EXTENSION] = lambda url: seen.append(url) or {"appId": "wx", "timestamp": 1,
                                                                       "nonceStr": "n", "signature": "s"}
    h5_sign_in(client, _resident(session))
    answer = client.get("/h5/wx-config?url=http://localhost/h5/scan%23x")
    assert answer.json == {"appId": "wx", "timestamp": 1, "nonceStr": "n", "signature": "s",
                           "jsApiList": ["scanQRCode", "chooseImage", "getLocalImgData"]}
    assert seen == ["http://localhost/h5/scan"]


def test_with_the_demos_stand_in_account_the_page_is_told_to_fall_back(demo_app, client, session):
    demo_app.config["WECHAT_DEMO"] = True  # stand-in keys: WeChat is never asked
    h5_sign_in(client, _resident(session))
    assert client.get("/h5/wx-config?url=http://localhost/h5/scan").status_code == 404


def test_without_the_bot_face_the_page_is_told_to_fall_back(demo_app, client, session):
    demo_app.extensions.pop(EXTENSION)
    h5_sign_in(client, _resident(session))
    assert client.get("/h5/wx-config?url=http://localhost/h5/scan").status_code == 404


def test_a_url_of_another_site_is_not_signed(demo_app, client, session):
    demo_app.extensions[EXTENSION] = lambda url: {"signature": "s"}
    h5_sign_in(client, _resident(session))
    assert client.get("/h5/wx-config?url=https://evil.example/h5/").status_code == 400
