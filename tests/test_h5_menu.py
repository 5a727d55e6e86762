"""The official account's menu and replies open the residents' pages through WeChat's OAuth."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from bot import texts
from bot.outbound.menu import build_menu, validate_menu

from .bot_support import say, text
from .factories import make_resident

H5 = "https://carbon.example.gov.cn/h5/"


def _pages(menu: dict) -> dict:
    """Button name -> the page its OAuth link comes back to."""
    found = {}
    for top in menu["button"]:
        for button in top["sub_button"]:
            if button["type"] == "view":
                query = parse_qs(urlsplit(button["url"]).query)
                assert query["scope"] == ["snsapi_base"] and query["appid"] == ["wxappid"]
                callback = urlsplit(query["redirect_uri"][0])
                assert f"{callback.scheme}://{callback.netloc}{callback.path}" == H5 + "oauth"
                found[button["name"]] = parse_qs(callback.query)["next"][0]
    return found


def test_menu_buttons_open_the_pages_through_wechat_oauth():
    menu = build_menu(H5, "wxappid")
    validate_menu(menu)
    assert _pages(menu) == {"我的碳账户": "/h5/", "积分兑换": "/h5/rewards", "报名活动": "/h5/campaigns",
                            "节能家电申报": "/h5/appliances", "隐私与数据": "/h5/privacy"}


def test_without_the_pages_url_the_menu_has_only_commands():
    assert "view" not in json.dumps(build_menu(None))


def test_the_bind_card_reply_links_to_the_card_page(app, client, session):
    app.config["WECHAT_H5_URL"] = H5
    make_resident(session, "o-h5-reply")
    session.commit()
    reply = say(client, text("o-h5-reply", "绑卡"))
    assert reply.startswith(texts.BIND_CARD_HOW) and '<a href="https://open.weixin.qq.com/' in reply
    link = reply.split('<a href="')[1].split('"')[0]
    callback = parse_qs(urlsplit(link).query)["redirect_uri"][0]
    assert parse_qs(urlsplit(callback).query)["next"] == ["/h5/cards"]
