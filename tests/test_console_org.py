"""组织 page: admins add streets and communities, rename and move; a clash is refused in Chinese."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import Community, Street

from .console_support import post_form, sign_in
from .factories import make_community, make_staff


def test_an_admin_adds_a_street_and_moves_a_community_to_it(client, session):
    community = make_community(session, "滨河社区")
    make_staff(session, "admin", "admin")
    make_staff(session, "worker", "worker", communities=[community])
    session.commit()
    sign_in(client, "worker")
    assert client.get("/console/org").status_code == 403
    sign_in(client, "admin")
    made = post_form(client, "/console/org", "/console/org/streets", {"street-name": "崔寨街道", "street-district": "济阳区"},
                     follow_redirects=True)
    assert "已新增街道「崔寨街道」" in made.get_data(as_text=True)
    session.rollback()
    street = session.scalar(select(Street).where(Street.name == "崔寨街道"))
    url = f"/console/org/communities/{community.id}"
    moved = post_form(client, url, url, {"community-name": "滨河社区", "community-street_id": str(street.id)}, follow_redirects=True)
    assert "社区已保存" in moved.get_data(as_text=True)
    post_form(client, "/console/org", "/console/org/communities", {"community-name": "鹊华社区", "community-street_id": str(street.id)})
    clash = post_form(client, url, url, {"community-name": "鹊华社区", "community-street_id": str(street.id)})
    assert clash.status_code == 422 and "该街道下已有同名的社区" in clash.get_data(as_text=True)
    session.rollback()
    assert session.get(Community, community.id).street_id == street.id
    assert session.get(Community, community.id).name == "滨河社区"
