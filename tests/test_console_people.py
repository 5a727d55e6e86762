"""人员 and 审计 pages: admins only; bad input stored nowhere; disabling ends the account's sessions."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import Staff

from .console_support import post_form, sign_in
from .factories import make_community, make_staff


def _people(session):
    mine, other = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    worker = make_staff(session, "worker", "worker", communities=[mine])
    make_staff(session, "admin", "admin")
    session.commit()
    return worker, mine, other


def test_a_worker_is_refused_the_staff_and_audit_pages(client, session):
    _people(session)
    sign_in(client, "worker")
    page = client.get("/console/").get_data(as_text=True)
    assert "人员" not in page and "审计" not in page
    assert client.get("/console/staff").status_code == 403
    assert client.get("/console/audit").status_code == 403


def test_a_worker_without_communities_or_with_a_short_password_is_not_created(client, session):
    _people(session)
    sign_in(client, "admin")
    response = post_form(client, "/console/staff/new", "/console/staff/new",
                         {"username": "lihua", "role": "worker", "password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "至少 10 个字符" in page
    response = post_form(client, "/console/staff/new", "/console/staff/new",
                         {"username": "lihua", "role": "worker", "password": "a long enough password"})
    assert response.status_code == 422 and "社区工作者至少要负责一个社区" in response.get_data(as_text=True)
    taken = post_form(client, "/console/staff/new", "/console/staff/new",
                      {"username": "worker", "role": "admin", "password": "a long enough password"})
    assert taken.status_code == 422 and "该用户名已被使用" in taken.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(Staff).where(Staff.username == "lihua")) is None


def test_an_admin_creates_a_worker_moves_them_and_disabling_signs_them_out(app, client, session):
    worker, mine, other = _people(session)
    sign_in(client, "admin")
    created = post_form(client, "/console/staff/new", "/console/staff/new",
                        {"username": "lihua", "display_name": "李华", "role": "worker",
                         "password": "a long enough password", "community_ids": str(mine.id)}, follow_redirects=True)
    assert "已添加社区工作者 lihua" in created.get_data(as_text=True)
    url = f"/console/staff/{worker.id}"
    moved = post_form(client, url, f"{url}/communities", {"community_ids": str(other.id)}, follow_redirects=True)
    assert "负责的社区已更新" in moved.get_data(as_text=True)
    their = app.test_client()
    sign_in(their, "worker")
    assert their.get("/console/").status_code == 200
    no_reason = post_form(client, url, f"{url}/active", {"reason": ""})
    assert no_reason.status_code == 422 and "请填写理由" in no_reason.get_data(as_text=True)
    post_form(client, url, f"{url}/active", {"reason": "调离岗位"})
    assert "/console/login" in their.get("/console/").headers["Location"]
    log = client.get("/console/audit?verb=staff.disable").get_data(as_text=True)
    assert "停用账号" in log and "调离岗位" in log and "分配社区" not in log.split("<tbody>")[1]
    session.rollback()
    assert [c.id for c in session.get(Staff, worker.id).communities] == [other.id]


def test_the_audit_date_range_and_a_malformed_date(client, session):
    _people(session)
    sign_in(client, "admin")
    assert "登录" in client.get("/console/audit").get_data(as_text=True)
    past = client.get("/console/audit?until=2020-01-01").get_data(as_text=True)
    assert "没有符合条件的记录" in past
    bad = client.get("/console/audit?since=yesterday")
    assert bad.status_code == 422
