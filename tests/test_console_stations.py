"""站点 pages: a worker keeps to their communities; the poster draws the code WeChat issued."""
from __future__ import annotations

from sqlalchemy import select

from carbon_credit.models import QRCode, Station
from carbon_credit.timeutil import utcnow

from .console_support import post_form, sign_in
from .factories import make_community, make_staff


def _area(session):
    mine, theirs = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[mine])
    now = utcnow()
    station = Station(name="孙耿回收站", kind="recycling_station", community_id=theirs.id, created_at=now,
                      updated_at=now)
    session.add(station)
    session.commit()
    return mine, theirs, station


def test_a_worker_creates_a_station_in_their_community_but_not_in_another(client, session):
    mine, theirs, elsewhere = _area(session)
    sign_in(client, "worker")
    refused = post_form(client, "/console/stations/new", "/console/stations/new",
                        {"name": "越界站", "kind": "recycling_station", "community_id": str(theirs.id), "active": "y"})
    assert refused.status_code == 422 and "不是有效的选择" in refused.get_data(as_text=True)
    made = post_form(client, "/console/stations/new", "/console/stations/new",
                     {"name": "滨河回收站", "kind": "recycling_station", "community_id": str(mine.id),
                      "address": "滨河路 1 号", "active": "y"}, follow_redirects=True)
    page = made.get_data(as_text=True)
    assert "站点「滨河回收站」已保存" in page and "孙耿回收站" not in page
    assert client.get(f"/console/stations/{elsewhere.id}/edit").status_code == 404
    assert client.get(f"/console/stations/{elsewhere.id}/poster").status_code == 404
    session.rollback()
    assert session.scalar(select(Station).where(Station.name == "越界站")) is None


def test_the_station_poster_draws_the_stored_code_or_offers_to_ask_for_one(client, session):
    _, _, station = _area(session)
    make_staff(session, "admin", "admin")
    session.commit()
    sign_in(client, "admin")
    assert "还没有站点二维码" in client.get(f"/console/stations/{station.id}/poster").get_data(as_text=True)
    session.add(QRCode(scene=f"station:{station.id}", permanent_scene=f"station:{station.id}", kind="permanent",
                       ticket="ticket-s", url="http://weixin.qq.com/q/station1", created_at=utcnow()))
    session.commit()
    page = client.get(f"/console/stations/{station.id}/poster").get_data(as_text=True)
    assert "<svg" in page and "打印（A4）" in page
