"""预算 and 合作方 pages: admins only; a budget's bad mode stored nowhere; a partner's secret shown once."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import Budget, Partner

from .console_support import post_form, sign_in
from .domain_helpers import install_rules
from .factories import make_community, make_staff


def _people(session):
    install_rules(session)
    make_staff(session, "worker", "worker", communities=[make_community(session, "滨河社区")])
    make_staff(session, "admin", "admin")
    session.commit()


def test_a_worker_is_refused_budgets_and_partners(client, session):
    _people(session)
    sign_in(client, "worker")
    assert client.get("/console/budgets").status_code == 403
    assert client.get("/console/partners").status_code == 403


def test_a_budget_is_set_changed_and_a_scale_without_factor_is_refused(client, session):
    _people(session)
    sign_in(client, "admin")
    bad = post_form(client, "/console/budgets", "/console/budgets",
                    {"month": "2026-07", "action_type": "", "points_limit": "5000", "mode": "scale"})
    assert bad.status_code == 422 and "按比例折减须填写 0 到 1 之间" in bad.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(Budget)) is None
    made = post_form(client, "/console/budgets", "/console/budgets",
                     {"month": "2026-07", "action_type": "metro_ride", "points_limit": "5000", "mode": "stop"},
                     follow_redirects=True)
    page = made.get_data(as_text=True)
    assert "预算已设置" in page and "地铁出行" in page and "0 / 5,000" in page
    again = post_form(client, "/console/budgets?month=2026-07", "/console/budgets",
                      {"month": "2026-07", "action_type": "metro_ride", "points_limit": "100", "mode": "stop"})
    assert again.status_code == 422 and "已为这个范围设置了预算" in again.get_data(as_text=True)
    session.rollback()
    budget = session.scalar(select(Budget))
    url = f"/console/budgets/{budget.id}?month=2026-07"
    changed = post_form(client, url, url, {"points_limit": "8000", "mode": "scale", "scale_factor": "0.5"},
                        follow_redirects=True)
    assert "0 / 8,000" in changed.get_data(as_text=True) and "按 0.5 折减" in changed.get_data(as_text=True)


def test_a_partners_secret_is_shown_once_and_rotating_changes_the_key(client, session):
    _people(session)
    sign_in(client, "admin")
    missing = post_form(client, "/console/partners", "/console/partners", {"name": "公交集团", "kind": "transit_operator"})
    assert missing.status_code == 422 and "请至少选择一种行为" in missing.get_data(as_text=True)
    made = post_form(client, "/console/partners", "/console/partners",
                     {"name": "公交集团", "kind": "transit_operator", "action_types": ["bus_ride", "metro_ride"]})
    page = made.get_data(as_text=True)
    assert made.status_code == 201 and "只显示这一次" in page
    session.rollback()
    partner = session.scalar(select(Partner))
    assert partner.key_id in page
    later = client.get("/console/partners").get_data(as_text=True)
    assert "只显示这一次" not in later and partner.key_id in later
    old_key = partner.key_id
    rotated = post_form(client, "/console/partners", f"/console/partners/{partner.id}/rotate", {})
    session.rollback()
    assert session.get(Partner, partner.id).key_id != old_key
    assert session.get(Partner, partner.id).key_id in rotated.get_data(as_text=True)
