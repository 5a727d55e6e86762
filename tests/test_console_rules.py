"""规则 pages: admins only; a changed factor needs its new citation; validate, preview, activate, compare."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from carbon_credit.models import RuleSet
from carbon_credit.rules.versions import rule_set_in_force
from carbon_credit.timeutil import utcnow

from .console_support import csrf_token, post_form, sign_in
from .domain_helpers import act, install_rules
from .factories import make_community, make_resident, make_staff

NEW_SOURCE = "深圳市低碳公共出行碳普惠方法学(2025修订) 50 g CO2e/人公里"


def _people(session):
    installed = install_rules(session)
    community = make_community(session, "滨河社区")
    make_staff(session, "worker", "worker", communities=[community])
    make_staff(session, "admin", "admin")
    session.commit()
    return installed, community


def _new_draft(client) -> str:
    response = post_form(client, "/console/rules", "/console/rules/drafts", {})
    assert response.status_code == 302
    return response.headers["Location"]


def _metro_form(client, url) -> dict:
    html = client.get(url).get_data(as_text=True)
    return {"csrf_token": csrf_token(html), "factors-0-grams_per_unit": "50", "factors-1-grams_per_unit": "46",
            "factors-1-source": "北京绿色生活季 减排手册 地铁每次最低 46 g", "points_per_gram": "1",
            "points_per_unit": "0", "max_quantity": ""}


def test_a_worker_cannot_open_the_rules_and_does_not_see_them_in_the_menu(client, session):
    _people(session)
    sign_in(client, "worker")
    assert "规则" not in client.get("/console/").get_data(as_text=True)
    assert client.get("/console/rules").status_code == 403
    assert client.get("/console/rules/1").status_code == 403


def test_a_changed_factor_keeping_the_old_citation_is_refused_and_nothing_is_stored(client, session):
    installed, _ = _people(session)
    sign_in(client, "admin")
    draft_url = _new_draft(client)
    edit_url = f"{draft_url}/rules/metro_ride"
    data = _metro_form(client, edit_url)
    data["factors-0-source"] = installed.rule_for("metro_ride").factors[0]["source"]
    response = client.post(edit_url, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "系数由 46.8 改为 50：请注明新数值的来源" in page
    session.rollback()
    draft = session.execute(select(RuleSet).where(RuleSet.status == "draft")).scalar_one()
    assert draft.rule_for("metro_ride").factors[0]["grams_per_unit"] == "46.8"


def test_an_empty_citation_and_a_negative_factor_are_refused_beside_the_fields(client, session):
    _people(session)
    sign_in(client, "admin")
    edit_url = f"{_new_draft(client)}/rules/metro_ride"
    data = {**_metro_form(client, edit_url), "factors-0-grams_per_unit": "-1", "factors-0-source": ""}
    page = client.post(edit_url, data=data).get_data(as_text=True)
    assert "须为 0 或以上的数" in page and "每个系数都要注明来源" in page


def test_an_admin_edits_validates_compares_and_activates_a_draft(client, session):
    installed, community = _people(session)
    resident = make_resident(session, community=community)
    act(session, resident, "metro_ride", "10", "km", now=utcnow())
    session.commit()
    sign_in(client, "admin")
    draft_url = _new_draft(client)
    draft_id = int(draft_url.rsplit("/", 1)[1])
    data = {**_metro_form(client, f"{draft_url}/rules/metro_ride"), "factors-0-source": NEW_SOURCE}
    saved = client.post(f"{draft_url}/rules/metro_ride", data=data, follow_redirects=True).get_data(as_text=True)
    assert "已保存「地铁出行」的规则" in saved and "每公里 50 克 CO₂e" in saved
    checked = post_form(client, draft_url, f"{draft_url}/validate", {}, follow_redirects=True)
    assert "校验通过" in checked.get_data(as_text=True)
    preview = client.get(f"{draft_url}/preview?days=30").get_data(as_text=True)
    assert "地铁出行" in preview and "+32" in preview  # 10 km: 468 points now, 500 under the draft
    diff = client.get(f"/console/rules/diff?from={installed.id}&to={draft_id}").get_data(as_text=True)
    assert "地铁出行 · 减排系数" in diff and NEW_SOURCE in diff and "2 处不同" in diff  # the factor, and the source that follows it
    activated = post_form(client, draft_url, f"{draft_url}/activate", {"effective_on": ""}, follow_redirects=True)
    assert "已启用，立即生效" in activated.get_data(as_text=True)
    session.rollback()  # end this session's read snapshot (SQLite WAL) to see what the app committed
    in_force = rule_set_in_force(session, utcnow())
    assert in_force.id == draft_id
    assert Decimal(in_force.rule_for("metro_ride").factors[0]["grams_per_unit"]) == 50
    again = client.post(f"{draft_url}/rules/metro_ride", data=data)
    assert again.status_code == 409 and "已生效的规则不能修改" in again.get_data(as_text=True)


def test_activating_on_a_past_day_is_refused_in_chinese(client, session):
    _people(session)
    sign_in(client, "admin")
    draft_url = _new_draft(client)
    response = post_form(client, draft_url, f"{draft_url}/activate", {"effective_on": "2020-01-01"})
    assert response.status_code == 422 and "生效时间不能早于现在" in response.get_data(as_text=True)
    session.rollback()
    assert session.execute(select(RuleSet).where(RuleSet.status == "draft")).scalar_one() is not None
