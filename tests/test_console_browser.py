"""The console in a real Chromium, walked as a community worker does it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from carbon_credit.models import Account, Campaign, GreenAction, QRCode, Station
from carbon_credit.timeutil import local_date, utcnow

from .console_support import assert_labelled, browser_sign_in, live_server, page, pending_claim, shot  # noqa: F401
from .domain_helpers import act, install_rules
from .factories import make_community, make_resident, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def area(session):
    """A worker of 大桥街道's two communities, and another street's community."""
    community = make_community(session, "滨河社区")
    second = make_community(session, "鹊华社区", street=community.street)
    elsewhere = make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[community, second])
    install_rules(session)
    resident = make_resident(session, community=community, display_name="王秀英")
    resident.phone_tail = "1234"
    now = utcnow()
    session.add(Station(name="滨河回收站", kind="recycling", community_id=community.id, created_at=now, updated_at=now))
    session.commit()
    return {"community": community, "second": second, "elsewhere": elsewhere, "resident": resident}


def _issue_qrcode(session, campaign_id: int) -> None:
    """What WeChat hands back for the campaign's scene (the API stores it the same way)."""
    now = utcnow()
    session.add(QRCode(scene=f"campaign:{campaign_id}", kind="temporary", ticket=f"ticket-{campaign_id}",
                       url=f"http://weixin.qq.com/q/campaign{campaign_id}", expire_seconds=2_592_000,
                       expires_at=now + timedelta(days=30), created_at=now))
    session.commit()


def test_signing_in_from_the_keyboard_and_out_again_ends_a_copied_cookie(page, area):
    page.goto("/console/")
    assert_labelled(page)
    shot(page, "sign-in")
    browser_sign_in(page, "worker")
    assert page.get_by_role("heading", level=1).inner_text().startswith("概览")
    assert_labelled(page)
    shot(page, "dashboard")
    cookies = page.context.cookies()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/console/login")
    assert "您已安全退出" in page.content()
    page.context.add_cookies(cookies)  # the copied cookie comes back
    page.goto("/console/")
    assert "/console/login" in page.url


def test_a_worker_runs_a_campaign_from_draft_to_an_on_site_check_in(page, area, session):
    browser_sign_in(page, "worker")
    page.get_by_role("link", name="活动", exact=True).click()
    shot(page, "campaigns-empty")
    page.get_by_role("link", name="新建活动").click()
    page.get_by_label("标题").fill("垃圾分类周")
    page.get_by_label("封面文字").fill("分类投放，积分翻倍")
    page.get_by_label("滨河社区").check()
    today = local_date(utcnow())
    page.get_by_label("开始日期").fill(today.isoformat())
    page.get_by_label("结束日期").fill((today + timedelta(days=6)).isoformat())
    page.get_by_label("可回收物投递").check()
    page.get_by_label("积分倍数").fill("2")
    page.get_by_label("每次签到积分").fill("5")
    page.get_by_label("生成签到二维码").check()
    assert_labelled(page)
    shot(page, "campaign-new")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("活动已保存为草稿").wait_for()
    assert "草稿" in page.get_by_role("heading", level=1).inner_text()
    worked = page.get_by_role("row").filter(has_text="可回收物投递 2 千克").inner_text()
    assert "×2" in worked
    page.get_by_role("button", name="发布").click()
    page.get_by_text("活动已发布").wait_for()
    assert "进行中" in page.get_by_role("heading", level=1).inner_text()
    shot(page, "campaign")

    campaign_id = session.scalar(select(Campaign.id).where(Campaign.title == "垃圾分类周"))
    page.get_by_role("link", name="海报").click()
    assert page.get_by_role("button", name="向微信申请二维码").is_visible()
    _issue_qrcode(session, campaign_id)
    page.reload()
    assert page.locator(".qr svg").count() == 1
    assert "每次签到得 5 积分" in page.inner_text(".poster-scan")
    shot(page, "poster")

    page.goto(f"/console/campaigns/{campaign_id}/checkin")
    page.get_by_label("居民姓名").fill("王秀英")
    page.get_by_label("手机号后四位").fill("9999")
    page.keyboard.press("Enter")
    page.get_by_text("没有找到符合条件的居民").wait_for()
    page.get_by_label("手机号后四位").fill("1234")
    page.keyboard.press("Enter")
    page.get_by_text("已为 王秀英 签到，获得 5 积分").wait_for()
    assert_labelled(page)
    shot(page, "checkin")
    page.goto(f"/console/campaigns/{campaign_id}")
    assert "签到次数1" in page.inner_text("dl.facts").replace("\n", "").replace(" ", "")

    page.get_by_role("link", name="活动", exact=True).click()
    page.get_by_role("link", name="现场称重").click()
    page.get_by_label("站点").select_option(label="滨河社区 · 滨河回收站")
    page.get_by_label("投放类别").select_option(label="塑料")
    page.get_by_label("居民姓名").fill("王秀英")
    page.get_by_label("手机号后四位").fill("1234")
    page.get_by_label("重量（千克）").fill("2")
    assert_labelled(page)
    page.keyboard.press("Enter")
    doubled = _points_of(page.get_by_text("已记录：塑料 2 千克").inner_text())  # the campaign doubles recyclables
    shot(page, "weigh-in")

    page.goto(f"/console/campaigns/{campaign_id}")
    page.once("dialog", lambda dialog: dialog.accept() if "不能撤销" in dialog.message else dialog.dismiss())
    page.get_by_role("button", name="结束活动").click()
    page.get_by_text("活动已结束").wait_for()
    assert "已结束" in page.get_by_role("heading", level=1).inner_text()
    assert "提前结束" in page.inner_text("dl.facts")
    assert page.get_by_role("button", name="结束活动").count() == 0
    assert page.get_by_role("link", name="现场签到").count() == 0
    assert_labelled(page)
    shot(page, "campaign-ended")
    page.goto("/console/weigh-in")
    page.get_by_label("站点").select_option(label="滨河社区 · 滨河回收站")
    page.get_by_label("投放类别").select_option(label="塑料")
    page.get_by_label("居民姓名").fill("王秀英")
    page.get_by_label("手机号后四位").fill("1234")
    page.get_by_label("重量（千克）").fill("2")
    page.keyboard.press("Enter")
    plain = _points_of(page.get_by_text("已记录：塑料 2 千克").inner_text())
    assert (doubled, plain) == (2 * plain, plain) and plain > 0  # after the end: no campaign bonus
    session.expire_all()
    ended = session.get(Campaign, campaign_id)
    assert ended.status == "ended" and ended.planned_until > ended.active_until


def _points_of(flash: str) -> int:
    return int(re.search(r"获得 (\d+) 积分", flash).group(1))


def test_a_worker_cannot_open_another_streets_campaign_or_community_by_url(page, area, session):
    from .campaign_support import plain_campaign

    theirs = plain_campaign(session, [area["elsewhere"]])
    session.commit()
    browser_sign_in(page, "worker")
    response = page.goto(f"/console/campaigns/{theirs.id}")
    assert response.status == 404 and "找不到该活动" in page.inner_text("main")
    response = page.goto(f"/console/?community={area['elsewhere'].id}")
    assert response.status == 404 and "找不到该社区" in page.inner_text("main")
    shot(page, "not-found")


def test_a_worker_reviews_appliance_claims_with_their_photos_one_after_another(page, area, session):
    first = pending_claim(session, area["resident"])
    other = make_resident(session, community=area["second"], display_name="李明")
    second = pending_claim(session, other, invoice_no="044001900111-87654321")
    session.commit()
    browser_sign_in(page, "worker")
    page.get_by_role("link", name="审核").click()
    photo = page.get_by_role("img", name="居民上传的凭证照片")
    photo.wait_for()
    assert page.evaluate("img => img.naturalWidth", photo.element_handle()) == 240
    assert "第 1 条，共 2 条" in page.inner_text("#review-item")
    assert_labelled(page)
    shot(page, "review")

    page.get_by_label("驳回", exact=True).check()
    page.get_by_role("button", name="提交并看下一条").click()
    page.get_by_text("驳回时请写明理由").wait_for()
    page.get_by_label("理由（驳回时必填）").fill("发票照片模糊，请重新上传")
    page.get_by_role("button", name="提交并看下一条").click()
    page.get_by_text("已驳回，已通知居民").wait_for()
    assert "李明" in page.inner_text("#review-item") and "/console/reviews" in page.url

    page.get_by_role("button", name="提交并看下一条").click()  # 通过 is the default
    page.get_by_text("已通过，居民获得").wait_for()
    assert "没有待审核的记录" in page.inner_text("#review-item")
    session.expire_all()
    assert session.get(GreenAction, first.action_id).status == "rejected"
    assert session.get(GreenAction, second.action_id).status == "credited"
    assert session.scalar(select(Account.balance).where(Account.resident_id == other.id)) > 0


def test_a_worker_verifies_a_voucher_by_typing_its_code(page, area, session):
    from carbon_credit.rewards.redemptions import redeem_reward

    from .reward_support import give_points, make_reward

    give_points(session, area["resident"], 500, at=utcnow())
    reward = make_reward(session, communities=[area["community"]], title="环保购物袋", now=utcnow())
    redemption, _ = redeem_reward(session, area["resident"].id, reward.id, utcnow())
    session.commit()
    browser_sign_in(page, "worker")
    page.get_by_role("link", name="奖品").click()
    page.wait_for_url("**/console/rewards")
    row = page.get_by_role("row").filter(has_text="环保购物袋")
    row.first.wait_for()  # the list has arrived before it is counted
    assert row.count() == 1
    shot(page, "rewards")
    page.get_by_role("link", name="核销券码").click()
    page.wait_for_url("**/console/vouchers")
    assert page.get_by_label("券码").evaluate("box => box === document.activeElement")
    page.keyboard.type(redemption.voucher_code.lower())  # the code box has the focus, as a scanner needs
    page.keyboard.press("Enter")
    page.get_by_text("核销成功").wait_for()
    assert_labelled(page)
    shot(page, "voucher")
    page.get_by_label("券码").fill(redemption.voucher_code)
    page.keyboard.press("Enter")
    page.get_by_text("这张券已经核销过了").wait_for()
    page.get_by_role("link", name="兑换记录").click()
    assert "已核销" in page.get_by_role("row").filter(has_text="环保购物袋").inner_text()
    assert_labelled(page)
    shot(page, "redemptions")


# An admin's flows: a rule change from draft to the dashboard, and the operations pages.
NEW_SOURCE = "深圳市低碳公共出行碳普惠方法学(2025修订) 50 g CO2e/人公里"


@pytest.fixture
def city(session):
    install_rules(session)
    community = make_community(session, "滨河社区")
    make_staff(session, "admin", "admin")
    resident = make_resident(session, community=community, display_name="王秀英")
    act(session, resident, "metro_ride", "10", "km", now=utcnow())  # 10 km at 46.8 g/km: 468 points
    session.commit()
    return {"community": community, "resident": resident}


def _points_this_month(page) -> str:
    card = page.locator(".kpi").filter(has_text="发放积分")
    return card.locator(".value").inner_text()


def test_an_admin_changes_a_factor_previews_activates_and_sees_the_dashboard_move(page, city, session):
    browser_sign_in(page, "admin")
    assert _points_this_month(page).startswith("468")
    page.get_by_role("link", name="规则", exact=True).click()
    page.get_by_role("heading", name="生效中：第 1 版").wait_for()
    shot(page, "rules")
    page.get_by_role("button", name="新建草稿").click()
    page.get_by_text("已新建草稿第 2 版").wait_for()
    page.get_by_role("link", name="修改地铁出行").click()
    page.get_by_label("每公里减排量").fill("50")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("请注明新数值的来源").wait_for()  # the old citation no longer fits the new value
    assert_labelled(page)
    shot(page, "rule-edit-refused")
    page.get_by_label("每公里系数的来源").fill(NEW_SOURCE)
    page.get_by_role("button", name="保存").click()
    page.get_by_text("已保存「地铁出行」的规则").wait_for()
    page.get_by_role("button", name="校验").click()
    page.get_by_text("校验通过").wait_for()
    shot(page, "rule-draft")
    page.get_by_role("button", name="试算").click()
    page.get_by_role("heading", name="逐项对比").wait_for()
    row = page.get_by_role("row").filter(has_text="地铁出行")
    assert "+32" in row.inner_text()
    page.locator("[data-chart=compare] canvas").wait_for()
    assert_labelled(page)
    shot(page, "rule-preview")
    page.get_by_role("link", name="返回该版本").click()
    page.get_by_label("生效日期").press("Enter")  # blank: from now
    page.get_by_text("第 2 版已启用，立即生效").wait_for()
    page.get_by_role("cell", name="每公里 50 克 CO₂e").first.wait_for()
    page.get_by_role("button", name="比较").click()
    page.get_by_text("第 1 版 → 第 2 版").wait_for()
    shot(page, "rule-diff")

    now = utcnow()  # a ride after the activation: credited under version 2 (earlier rides keep version 1)
    act(session, city["resident"], "metro_ride", "10", "km", at=now, now=now)
    session.commit()
    page.get_by_role("link", name="概览").click()
    assert _points_this_month(page).startswith("968")


def test_an_admin_adds_a_worker_then_disables_the_account_and_finds_it_in_the_audit_log(page, city):
    browser_sign_in(page, "admin")
    page.get_by_role("link", name="人员", exact=True).click()
    page.get_by_role("link", name="添加人员").click()
    page.get_by_label("用户名", exact=True).fill("lihua")
    page.get_by_label("姓名").fill("李华")
    page.get_by_label("角色").select_option("worker")
    page.get_by_label("初始密码").fill("a long enough password")
    page.get_by_label("滨河社区").check()
    assert_labelled(page)
    shot(page, "staff-new")
    page.get_by_role("button", name="添加").click()
    page.get_by_text("已添加社区工作者 lihua").wait_for()
    page.get_by_label("理由").fill("调离岗位")
    page.get_by_role("button", name="停用").click()
    page.get_by_text("已停用账号 lihua").wait_for()
    assert_labelled(page)
    shot(page, "staff-detail")
    page.get_by_role("link", name="人员", exact=True).click()
    shot(page, "staff")
    page.get_by_role("link", name="审计", exact=True).click()
    page.get_by_label("操作", exact=True).select_option("staff.disable")
    page.get_by_role("button", name="筛选").click()
    page.get_by_role("cell", name="停用账号（staff.disable）").wait_for()
    assert_labelled(page)
    shot(page, "audit")


def test_an_admin_sets_a_budget_and_registers_a_partner_whose_secret_shows_once(page, city):
    browser_sign_in(page, "admin")
    page.get_by_role("link", name="预算", exact=True).click()
    page.get_by_label("适用行为").select_option(label="地铁出行")
    page.get_by_label("积分额度").fill("2000")
    page.get_by_role("button", name="设置", exact=True).click()
    page.get_by_text("预算已设置").wait_for()
    page.get_by_text("468 / 2,000").wait_for()  # the month's metro points count from the start
    assert_labelled(page)
    shot(page, "budgets")
    page.get_by_role("link", name="合作方", exact=True).click()
    page.get_by_label("名称").fill("济南公交集团")
    page.get_by_label("类型").select_option("transit_operator")
    page.get_by_label("公交出行").check()
    page.get_by_role("button", name="登记并签发密钥").click()
    page.get_by_text("只显示这一次").wait_for()
    assert_labelled(page)
    shot(page, "partners")
    page.goto("/console/partners")
    assert page.get_by_text("只显示这一次").count() == 0


def test_an_admin_walks_the_operations_pages_from_the_menu(page, city, session):
    now = utcnow()
    session.add(Station(name="滨河回收站", kind="recycling_station", community_id=city["community"].id,
                        address="滨河路 1 号", created_at=now, updated_at=now))
    session.commit()
    browser_sign_in(page, "admin")
    for link, heading in (("站点", "站点"), ("组织", "组织"), ("发送记录", "发送记录"), ("数据导入", "数据导入"),
                          ("报表", "碳普惠月报")):
        page.get_by_role("link", name=link, exact=True).click()
        page.get_by_role("heading", name=heading).first.wait_for()
        assert_labelled(page)
        shot(page, f"ops-{link}")
    page.locator("[data-chart=communities] canvas").wait_for()
    shot(page, "report")
    page.emulate_media(media="print")
    assert page.locator("form.filters").is_hidden()  # the print shows the report alone
    shot(page, "report-print")
