"""Campaign pages: bad input is answered in Chinese and stores nothing; workers stay in their communities."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from carbon_credit.models import Campaign
from carbon_credit.timeutil import utcnow

from .campaign_support import plain_campaign
from .console_support import post_form, sign_in
from .domain_helpers import install_rules
from .factories import make_community, make_staff


def _worker(session):
    install_rules(session)
    mine, theirs = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[mine])
    session.commit()
    return mine, theirs


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Campaign))


def test_a_campaign_ending_before_it_starts_is_refused_in_chinese_and_not_stored(client, session):
    mine, _ = _worker(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/campaigns/new", "/console/campaigns/new", {
        "title": "低碳日", "community_ids": str(mine.id), "active_from": "2026-06-10", "active_until": "2026-06-01"})
    assert response.status_code == 422
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)
    assert _count(session) == 0


def test_a_worker_cannot_target_another_community(client, session):
    mine, theirs = _worker(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/campaigns/new", "/console/campaigns/new", {
        "title": "低碳日", "community_ids": str(theirs.id), "active_from": "2026-06-10",
        "active_until": "2026-06-12"})
    assert response.status_code == 422 and "不在您负责的范围内" in response.get_data(as_text=True)
    assert _count(session) == 0


def test_a_date_that_is_not_a_date_is_refused_in_chinese(client, session):
    mine, _ = _worker(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/campaigns/new", "/console/campaigns/new", {
        "title": "低碳日", "community_ids": str(mine.id), "active_from": "六月十日", "active_until": "2026-06-12"})
    assert response.status_code == 422 and "不是有效的日期值" in response.get_data(as_text=True)
    assert _count(session) == 0


def test_a_domain_refusal_shows_beside_the_field(client, session):
    mine, _ = _worker(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/campaigns/new", "/console/campaigns/new", {
        "title": "低碳日", "community_ids": str(mine.id), "active_from": "2026-06-10", "active_until": "2026-06-12",
        "first_action_bonus": "10"})
    assert response.status_code == 422
    assert "请选择计入的行为" in response.get_data(as_text=True)
    assert _count(session) == 0


def test_another_streets_campaign_cannot_be_published_or_checked_in(client, session):
    _, theirs = _worker(session)
    campaign = plain_campaign(session, [theirs], status="draft")
    session.commit()
    sign_in(client, "worker")
    assert post_form(client, "/console/campaigns", f"/console/campaigns/{campaign.id}/publish", {}).status_code == 404
    assert client.get(f"/console/campaigns/{campaign.id}/checkin").status_code == 404
    assert client.get(f"/console/campaigns/{campaign.id}/poster").status_code == 404
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "draft"


def test_another_streets_running_campaign_cannot_be_ended(client, session):
    mine, theirs = _worker(session)
    campaign = plain_campaign(session, [theirs], status="running")
    tomorrow = utcnow() + timedelta(days=1)
    own = plain_campaign(session, [mine], status="published", title="明天开始", active_from=tomorrow, now=utcnow())
    session.commit()
    sign_in(client, "worker")
    assert post_form(client, "/console/campaigns", f"/console/campaigns/{campaign.id}/end", {}).status_code == 404
    not_started = post_form(client, f"/console/campaigns/{own.id}", f"/console/campaigns/{own.id}/end", {})
    assert not_started.status_code == 409 and "不能提前结束" in not_started.get_data(as_text=True)
    assert "结束活动" not in client.get(f"/console/campaigns/{own.id}").get_data(as_text=True)
    session.expire_all()
    assert (session.get(Campaign, campaign.id).status, session.get(Campaign, own.id).status) == ("running",
                                                                                               "published")


def test_the_list_shows_only_campaigns_reaching_the_workers_communities(client, session):
    mine, theirs = _worker(session)
    plain_campaign(session, [mine], title="滨河低碳日")
    plain_campaign(session, [theirs], title="孙耿低碳日")
    session.commit()
    sign_in(client, "worker")
    page = client.get("/console/campaigns").get_data(as_text=True)
    assert "滨河低碳日" in page and "孙耿低碳日" not in page


def test_after_publishing_only_the_wording_changes(client, session):
    mine, _ = _worker(session)
    campaign = plain_campaign(session, [mine], status="published")
    session.commit()
    sign_in(client, "worker")
    form = client.get(f"/console/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert "只能修改文字" in form and 'name="community_ids"' not in form
    too_long = post_form(client, f"/console/campaigns/{campaign.id}/edit", f"/console/campaigns/{campaign.id}/edit",
                         {"title": "长" * 65})
    assert too_long.status_code == 422 and "最多 64 个字" in too_long.get_data(as_text=True)
    saved = post_form(client, f"/console/campaigns/{campaign.id}/edit", f"/console/campaigns/{campaign.id}/edit",
                      {"title": "垃圾分类周（延期）", "cover_text": "分类投放"})
    assert saved.status_code == 302
    session.rollback()
    assert session.get(Campaign, campaign.id).title == "垃圾分类周（延期）"


def test_a_draft_opens_for_editing_with_its_settings(client, session):
    mine, _ = _worker(session)
    campaign = plain_campaign(session, [mine], status="draft", checkin_points=5,
                              action_types=["recyclables_dropoff"], multipliers={"recyclables_dropoff": "2"})
    session.commit()
    sign_in(client, "worker")
    page = client.get(f"/console/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'value="垃圾分类周"' in page and 'name="multiplier" step="any" type="number" value="2"' in page
    assert f'checked id="community_ids-0" name="community_ids" type="checkbox" value="{mine.id}"' in page
    assert 'id="checkin_qr"' in page and 'name="action_types" type="checkbox" value="recyclables_dropoff"' in page


def test_a_campaign_without_a_community_is_refused_in_chinese(client, session):
    _worker(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/campaigns/new", "/console/campaigns/new", {
        "title": "低碳日", "active_from": "2026-06-10", "active_until": "2026-06-12"})
    assert response.status_code == 422 and "请至少选择一个社区" in response.get_data(as_text=True)
    assert _count(session) == 0
