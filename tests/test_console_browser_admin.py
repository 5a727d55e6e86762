"""The console in a real Chromium, walked as an admin does it: a rule change from draft to the dashboard."""
from __future__ import annotations

import pytest

from carbon_credit.timeutil import utcnow

from .console_support import assert_labelled, browser, browser_sign_in, live_server, page, shot  # noqa: F401
from .domain_helpers import act, install_rules
from .factories import make_community, make_resident, make_staff

pytestmark = pytest.mark.browser
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
    from carbon_credit.models import Station

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
