"""The residents' pages: sign-in (WeChat OAuth and the demo list), my carbon account, the statement."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers
from sqlalchemy import func, select

from api import create_app
from carbon_credit.ledger.points import lock_account, take_points
from carbon_credit.models import Account, Credit, LedgerEntry, Resident
from carbon_credit.residents.accounts import erase_resident
from carbon_credit.timeutil import utcnow

from .domain_helpers import act, install_rules
from .factories import make_community, make_resident
from .h5_support import OAUTH_URL, demo_app, form_token, h5_sign_in, recorded  # noqa: F401


@pytest.fixture
def resident(session):
    install_rules(session)
    community = make_community(session, "滨河社区")
    resident = make_resident(session, community=community, display_name="王秀英")
    neighbour = make_resident(session, community=community, display_name="李建国")
    now = utcnow()
    act(session, resident, "metro_ride", "12", "km", now=now)
    act(session, neighbour, "metro_ride", "30", "km", now=now)
    session.commit()
    return resident


def test_pages_send_a_visitor_without_a_session_to_sign_in(client):
    response = client.get("/h5/history")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/h5/signin?next=/h5/history")


def test_sign_in_goes_through_wechat_silent_authorisation(client):
    response = client.get("/h5/signin?next=/h5/history")
    target = urlsplit(response.headers["Location"])
    query = parse_qs(target.query)
    assert target.netloc == "open.weixin.qq.com" and target.fragment == "wechat_redirect"
    assert query["scope"] == ["snsapi_base"] and query["appid"] == ["wx0000000000test"]
    assert query["redirect_uri"] == ["http://localhost/h5/oauth"] and query["state"][0]


def _oauth_reply(app, code: str, fixture: str = "sns_oauth2_access_token.json"):
    params = {"appid": app.config["WECHAT_APPID"], "secret": app.config["WECHAT_SECRET"], "code": code,
              "grant_type": "authorization_code"}
    responses.get(OAUTH_URL, json=recorded(fixture), match=[matchers.query_param_matcher(params)])


def _state(client, next_path: str = "/h5/history") -> str:
    location = client.get(f"/h5/signin?next={next_path}").headers["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


@responses.activate
def test_oauth_callback_registers_the_resident_and_opens_the_page_asked_for(app, client, session):
    _oauth_reply(app, "CODE1")
    state = _state(client)
    response = client.get(f"/h5/oauth?code=CODE1&state={state}")
    assert response.status_code == 302 and response.headers["Location"] == "/h5/history"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert session.scalar(select(Resident).where(Resident.openid == "OPENID")) is not None
    assert client.get("/h5/history").status_code == 200


@responses.activate
def test_oauth_callback_with_a_forged_state_signs_nobody_in(app, client, session):
    _oauth_reply(app, "CODE1")
    _state(client)
    response = client.get("/h5/oauth?code=CODE1&state=forged")
    assert response.status_code == 400 and "请从公众号菜单重新打开页面" in response.get_data(as_text=True)
    assert session.scalar(select(Resident).where(Resident.openid == "OPENID")) is None
    assert len(responses.calls) == 0


@responses.activate
def test_a_used_code_gets_a_chinese_message(app, client, session):
    _oauth_reply(app, "USED", "sns_oauth2_access_token_40163.json")
    response = client.get(f"/h5/oauth?code=USED&state={_state(client)}")
    assert response.status_code == 400 and "微信登录凭证已失效" in response.get_data(as_text=True)
    assert client.get("/h5/").status_code == 302


def test_demo_sign_in_is_not_found_in_the_test_configuration_unless_asked(client):
    assert client.get("/h5/demo").status_code == 404


def test_demo_sign_in_is_refused_in_a_production_configuration(db_url):
    app = create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "production-secret",
                      "CARD_HASH_KEY": "k1", "PHONE_HASH_KEY": "k2", "OPENID_HASH_KEY": "k3",
                      "H5_DEMO_SIGN_IN": True, "WECHAT_APPID": "wxprod", "WECHAT_SECRET": "s"})
    client = app.test_client()
    assert client.get("/h5/demo").status_code == 404
    assert client.post("/h5/demo", data={"resident": 1}).status_code in (400, 404)
    assert urlsplit(client.get("/h5/signin").headers["Location"]).netloc == "open.weixin.qq.com"


def test_my_account_shows_points_carbon_expiry_rank_and_trend(demo_app, client, session, resident):
    h5_sign_in(client, resident)
    html = client.get("/h5/").get_data(as_text=True)
    account = lock_account(session, resident.id)
    session.rollback()
    assert f'data-testid="points">{account.balance}<' in html and account.balance > 0
    assert "累计减排" in html and "过期" in html
    assert "您本月排第 <strong>2</strong> 名（共 2 人参与）" in html
    assert "李*国" in html and "王*英（我）" in html  # names masked
    assert "<svg" in html and "地铁" in html


def test_statement_lists_each_credit_and_every_spend_newest_first_and_pages_on(demo_app, client, session, resident):
    now = utcnow()
    for days in range(22):
        act(session, resident, "metro_ride", "3", "km", now=now - timedelta(days=days))
    take_points(session, lock_account(session, resident.id), now, kind="spend", points=5, reference="test-spend",
                reason="兑换测试")
    session.commit()
    credits = session.scalar(select(func.count()).select_from(Credit).where(Credit.resident_id == resident.id))
    others = session.scalar(select(func.count()).select_from(LedgerEntry).join(
        Account, Account.id == LedgerEntry.account_id).where(Account.resident_id == resident.id,
                                                            LedgerEntry.kind != "earn"))
    assert credits + others > 20  # more than one page
    h5_sign_in(client, resident)
    first = client.get("/h5/history").get_data(as_text=True)
    assert first.index("兑换") < first.index("获得") and "查看计算说明" in first
    assert first.count('class="entry ') == 20 and 'hx-trigger="revealed"' in first
    pages, links = [first], re.findall(r'href="/h5/credits/(\d+)"', first)
    while 'hx-get="' in pages[-1]:
        more = pages[-1].split('hx-get="')[1].split('"')[0].replace("&amp;", "&")
        pages.append(client.get(more, headers={"HX-Request": "true"}).get_data(as_text=True))
        assert "<html" not in pages[-1]
        links += re.findall(r'href="/h5/credits/(\d+)"', pages[-1])
    assert sum(page.count('class="entry ') for page in pages) == credits + others
    assert len(links) == len(set(links)) == credits  # every credit once, each linking to its explanation


def test_a_capped_trip_is_listed_as_capped_with_its_explanation(demo_app, client, session, resident):
    now = utcnow()
    rides = [act(session, resident, "bus_ride", "1", "trip", now=now, at=now - timedelta(minutes=10 + i))
             for i in range(5)]  # at most four rides of a day earn: the fifth is capped
    session.commit()
    assert rides[-1].credit.status == "capped" and rides[-1].credit.points == 0
    h5_sign_in(client, resident)
    page = client.get("/h5/history").get_data(as_text=True)
    shown = {int(i): entry.split("</li>")[0]
             for i, entry in re.findall(r'href="/h5/credits/(\d+)"(.*?</li>)', page, flags=re.S)}
    statuses = {credit.id: credit.status for credit in session.scalars(select(Credit).where(Credit.id.in_(shown)))}
    assert {"capped", "credited"} <= set(statuses.values())
    for credit_id, entry in shown.items():  # marked exactly when a cap refused the points
        assert ("已达上限" in entry) == (statuses[credit_id] == "capped"), entry


def test_a_credit_explains_factor_source_weight_and_rounding(demo_app, client, session, resident):
    credit = session.scalar(select(Credit).where(Credit.resident_id == resident.id))
    h5_sign_in(client, resident)
    html = client.get(f"/h5/credits/{credit.id}").get_data(as_text=True)
    assert "减排因子" in html and "来源" in html and "权重" in html and "向下取整" in html


def test_another_residents_credit_is_not_found(demo_app, client, session, resident):
    other = session.scalar(select(Credit).where(Credit.resident_id != resident.id))
    h5_sign_in(client, resident)
    response = client.get(f"/h5/credits/{other.id}")
    assert response.status_code == 404 and "不属于您的账户" in response.get_data(as_text=True)


def test_blocking_or_erasing_a_resident_ends_their_session_at_once(demo_app, client, session, resident):
    h5_sign_in(client, resident)
    assert client.get("/h5/").status_code == 200
    session.get(Resident, resident.id).status = "blocked"
    session.commit()
    response = client.get("/h5/")
    assert response.status_code == 302 and response.headers["Location"] == "/h5/signed-out"
    assert client.get("/h5/").headers["Location"].startswith("/h5/signin")  # the session is gone for good
    session.get(Resident, resident.id).status = "active"
    session.commit()
    h5_sign_in(client, resident)
    erase_resident(session, resident.id, utcnow())
    session.commit()
    assert client.get("/h5/history").status_code == 302


def test_elder_mode_switch_stays_on_across_pages(demo_app, client, session, resident):
    h5_sign_in(client, resident)
    assert 'class="elder"' not in client.get("/h5/").get_data(as_text=True)
    client.post("/h5/elder", data={"on": "1", "next": "/h5/history", "csrf_token": form_token(client, "/h5/")})
    assert '<html lang="zh-CN" class="elder">' in client.get("/h5/history").get_data(as_text=True)
    assert "切换到标准版" in client.get("/h5/settings").get_data(as_text=True)


def test_a_menu_link_signs_in_again_with_a_state_of_this_browser(app, client):
    from bot.outbound.pages import page_link

    link = urlsplit(page_link("http://localhost/h5/", app.config["WECHAT_APPID"], "rewards"))
    callback = parse_qs(link.query)["redirect_uri"][0]
    assert callback == "http://localhost/h5/oauth?next=%2Fh5%2Frewards" and parse_qs(link.query)["state"] == ["menu"]
    response = client.get(callback.replace("http://localhost", "") + "&code=FORWARDED&state=menu")
    assert response.headers["Location"] == "/h5/signin?next=/h5/rewards"  # the forwarded code is never exchanged
    again = urlsplit(client.get(response.headers["Location"]).headers["Location"])
    assert again.netloc == "open.weixin.qq.com" and parse_qs(again.query)["state"][0] != "menu"


def test_pages_and_their_scripts_are_sent_gzipped_to_browsers_that_ask(demo_app, client, resident):
    import gzip

    h5_sign_in(client, resident)
    for url in ("/h5/history", "/h5/static/h5.css", "/h5/vendor/htmx.min.js"):
        response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in response.headers["Vary"]
        assert len(gzip.decompress(response.get_data())) > len(response.get_data())
    plain = client.get("/h5/history")
    assert "Content-Encoding" not in plain.headers and "积分明细" in plain.get_data(as_text=True)
