"""The residents' pages in a real Chromium: a phone, WeChat's user agent, a resident's taps."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from carbon_credit.timeutil import local_date, utcnow

from .console_support import PHONE, live_server  # noqa: F401
from .domain_helpers import act, install_rules
from .factories import make_community, make_resident
from .h5_support import WECHAT_UA

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("H5_SHOTS")  # a folder: the tests save phone screenshots there when set

# Every text element's font size, and every tappable thing's box, as the browser lays them out.
SIZES = """() => {
  const texts = [...document.querySelectorAll('main p, main li, main button, main a, nav a')]
    .filter(el => el.offsetParent !== null && el.innerText.trim());
  const taps = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select')]
    .filter(el => el.offsetParent !== null);
  return {
    smallestText: Math.min(...texts.map(el => parseFloat(getComputedStyle(el).fontSize))),
    lineHeight: Math.min(...texts.map(el => parseFloat(getComputedStyle(el).lineHeight) / parseFloat(getComputedStyle(el).fontSize))),
    smallTaps: taps.map(el => [el.innerText.trim(), el.getBoundingClientRect().width, el.getBoundingClientRect().height])
  };
}"""


def contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text colour against its (first opaque ancestor's) background."""
    return page.evaluate("""(selector) => {
      const parse = c => c.match(/[\\d.]+/g).map(Number);
      const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      let el = document.querySelector(selector); const fg = parse(getComputedStyle(el).color);
      let bg; while (el) { const c = parse(getComputedStyle(el).backgroundColor); if (c.length < 4 || c[3] > 0) { bg = c; break; } el = el.parentElement; }
      bg = bg || [255, 255, 255];
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x); return (a + 0.05) / (b + 0.05);
    }""", selector)


def shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def phone(browser, live_server, app):
    app.config["H5_DEMO_SIGN_IN"] = True
    app.config["WECHAT_DEMO"] = True  # as in the demo: the JS-SDK is never signed, the pages fall back
    context = browser.new_context(viewport=PHONE, user_agent=WECHAT_UA, locale="zh-CN", base_url=live_server.url,
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def resident(session):
    install_rules(session)
    community = make_community(session, "滨河社区")
    resident = make_resident(session, community=community, display_name="王秀英")
    now = utcnow()
    for quantity in ("12", "8"):
        act(session, resident, "metro_ride", quantity, "km", now=now)
    act(session, resident, "bus_ride", "1", "trip", now=now)
    session.commit()
    return resident


def demo_sign_in(page, name: str = "王秀英") -> None:
    page.goto("/h5/")
    page.wait_for_url("**/h5/demo**")
    shot(page, "demo-sign-in")
    page.get_by_role("button", name=f"以「{name}」登录").click()
    page.wait_for_url("**/h5/")


def test_a_resident_signs_in_reads_the_balance_and_a_credits_explanation(phone, resident, session):
    demo_sign_in(phone)
    points = phone.get_by_test_id("points").inner_text()
    assert int(points) > 0 and "累计减排" in phone.content()
    assert phone.locator("svg.chart rect").count() >= 2
    shot(phone, "home")
    phone.get_by_role("link", name="明细", exact=True).click()
    phone.wait_for_url("**/h5/history")
    shot(phone, "history")
    phone.locator("a.entry-link").first.click()
    phone.wait_for_url("**/h5/credits/**")
    assert "减排因子" in phone.content() and "向下取整" in phone.content()
    shot(phone, "credit")


def test_elder_mode_has_big_text_big_taps_and_enough_contrast(phone, resident):
    demo_sign_in(phone)
    normal = phone.evaluate(SIZES)
    assert normal["smallTaps"] and all(w >= 44 and h >= 44 for _t, w, h in normal["smallTaps"]), normal["smallTaps"]
    phone.get_by_role("button", name="长辈版（大字）").click()
    phone.wait_for_url("**/h5/")
    for path in ("/h5/", "/h5/history", "/h5/settings"):
        phone.goto(path)
        sizes = phone.evaluate(SIZES)
        assert sizes["smallestText"] >= 20, (path, sizes)  # secondary lines 20px, main text 24px
        assert sizes["lineHeight"] >= 1.3, (path, sizes)
        assert all(w >= 60 and h >= 60 for _t, w, h in sizes["smallTaps"]), (path, sizes["smallTaps"])
        shot(phone, "elder" + path.replace("/", "-").rstrip("-"))
    phone.goto("/h5/")
    assert float(phone.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")) >= 24
    for selector in ("main p", ".bar h1", ".tabs a", ".elder-switch button", ".notice, .muted"):
        assert contrast(phone, selector) >= 4.5, selector


def test_pages_scale_with_the_font_setting_without_overflowing(phone, resident):
    demo_sign_in(phone)
    phone.add_style_tag(content="html { font-size: 125% !important; }")  # WeChat's 字体大小, one step up
    size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert size == 20
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_resident_redeems_a_reward_after_confirming_and_sees_the_voucher(phone, resident, session):
    from .reward_support import make_reward

    make_reward(session, now=utcnow(), title="公交乘车券", points_cost=100, stock=5)
    session.commit()
    demo_sign_in(phone)
    phone.get_by_role("link", name="奖品", exact=True).click()
    phone.wait_for_url("**/h5/rewards")
    shot(phone, "rewards")
    phone.get_by_role("link", name="兑换「公交乘车券」").click()
    phone.wait_for_url("**/redeem")
    shot(phone, "redeem-confirm")
    phone.get_by_role("button", name="确认兑换").click()
    phone.wait_for_url("**/h5/vouchers/*")
    code = phone.get_by_test_id("voucher-code")
    assert float(code.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 28
    assert phone.get_by_role("img", name="券码二维码").bounding_box()["width"] >= 200
    shot(phone, "voucher")


def test_binding_a_card_claiming_an_appliance_and_deleting_the_account(phone, resident, session, app, tmp_path):
    from .console_support import png

    demo_sign_in(phone)
    phone.get_by_role("link", name="绑定交通卡").click()
    phone.get_by_label("交通卡卡号").fill("3101ABCD5678")
    phone.get_by_role("button", name="绑定", exact=True).click()
    assert "卡号只能是 8 到 20 位数字" in phone.get_by_role("alert").inner_text()
    assert phone.get_by_label("交通卡卡号").get_attribute("aria-invalid") == "true"
    shot(phone, "cards-error")
    phone.get_by_label("交通卡卡号").fill("3101 0000 1234 5678")
    phone.get_by_role("button", name="绑定", exact=True).click()
    assert "绑卡成功" in phone.get_by_role("status").inner_text()
    shot(phone, "cards")

    phone.goto("/h5/appliances/new")
    photo = tmp_path / "invoice.png"
    photo.write_bytes(png())
    phone.get_by_label("品牌").fill("海尔")
    phone.get_by_label("型号").fill("BCD-470")
    phone.get_by_label("能效标识上的年耗电量（千瓦时）").fill("300")
    phone.get_by_label("发票号码").fill("044001900111-12345678")
    phone.get_by_label("开票日期").fill((local_date(utcnow()) - timedelta(days=3)).isoformat())
    phone.get_by_label("能效标识和发票的照片", exact=False).set_input_files(str(photo))
    shot(phone, "appliance-form")
    phone.get_by_role("button", name="提交申报").click()
    phone.wait_for_url("**/h5/appliances?submitted=1")
    assert "审核中" in phone.content()
    shot(phone, "appliances")

    phone.goto("/h5/privacy")
    shot(phone, "privacy")
    phone.get_by_role("link", name="注销账户…").click()
    phone.get_by_role("button", name="确认注销账户").click()
    assert "账户没有被注销" in phone.get_by_role("alert").inner_text()
    phone.get_by_label("确认注销，请输入「注销」").fill("注销")
    phone.get_by_role("button", name="确认注销账户").click()
    assert "账户已注销" in phone.content()
    phone.goto("/h5/")
    assert "/h5/demo" in phone.url or "/h5/signin" in phone.url


def test_every_page_in_elder_mode(phone, resident, session):
    from .reward_support import make_reward

    make_reward(session, now=utcnow(), title="公交乘车券", points_cost=100, stock=5)
    session.commit()
    demo_sign_in(phone)
    phone.get_by_role("button", name="长辈版（大字）").click()
    phone.wait_for_url("**/h5/")
    for path in ("/h5/campaigns", "/h5/rewards", "/h5/cards", "/h5/appliances/new", "/h5/declare", "/h5/privacy"):
        phone.goto(path)
        sizes = phone.evaluate(SIZES)
        assert sizes["smallestText"] >= 20, (path, sizes)
        assert all(w >= 60 and h >= 60 for _t, w, h in sizes["smallTaps"]), (path, sizes["smallTaps"])
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        shot(phone, "elder" + path.replace("/", "-"))


def test_outside_a_signed_js_sdk_the_scan_page_falls_back_to_a_typed_code(phone, resident):
    errors = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    demo_sign_in(phone)
    phone.get_by_role("link", name="扫码签到").click()
    phone.wait_for_url("**/h5/scan")
    phone.wait_for_load_state("networkidle")
    assert phone.get_by_role("button", name="扫一扫").count() == 0 or not phone.get_by_role("button", name="扫一扫").is_visible()
    phone.get_by_label("签到码").fill("station:999")
    phone.get_by_role("button", name="签到", exact=True).click()
    assert "没有这个回收站点" in phone.get_by_role("alert").inner_text()
    assert errors == []
    shot(phone, "scan")
