"""The issue's first "done when": a 垃圾分类周 campaign, end to end through the API."""
import csv
import io
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time as _freeze_time
from openpyxl import load_workbook

from carbon_credit.campaigns import advance_campaigns
from carbon_credit.models import Campaign, CampaignCheckin, GreenAction
from carbon_credit.scans import scan_scene

from .campaign_support import install_rules, weigh_in
from .factories import auth_header, make_community, make_resident, make_street

SH = timezone.utc  # times below are written in UTC; Shanghai is UTC+8


def freeze_time(moment):
    """Freeze the platform's clock, not the bearer tokens' (they were signed at the real time)."""
    return _freeze_time(moment, ignore=["itsdangerous", "api.auth"])


WEEK_FROM, WEEK_UNTIL = "2026-06-01T00:00:00+08:00", "2026-06-08T00:00:00+08:00"


def body(community_ids, **kw):
    values = dict(title="垃圾分类周", description="可回收物投递积分翻倍, 现场签到再得积分", cover_text="分类投放, 积分×2",
                  community_ids=community_ids, visible_from="2026-05-28T00:00:00+08:00",
                  visible_until="2026-06-10T00:00:00+08:00", active_from=WEEK_FROM, active_until=WEEK_UNTIL,
                  multipliers={"recyclables_dropoff": 2}, checkin_points=20, checkin_qr="temporary",
                  remind_days_before=2)
    values.update(kw)
    return values


@pytest.fixture
def area(session):
    install_rules(session)
    street = make_street(session, "大桥街道")
    a, b, c = (make_community(session, name, street) for name in ("鹊山社区", "大桥社区", "新园社区"))
    people = {
        "a1": make_resident(session, community=a, display_name="张三明"),
        "a2": make_resident(session, community=a, display_name="李四"),
        "b1": make_resident(session, community=b),
        "c1": make_resident(session, community=c, display_name="王五"),
    }
    people["b1"].phone_tail = "1234"
    session.commit()
    return street, a, b, c, people


def test_worker_runs_a_recycling_week_and_the_figures_show_it(client, session, worker_token, area):
    street, a, b, c, people = area
    token = worker_token(a, b)
    with freeze_time("2026-05-30T02:00:00Z"):
        created = client.post("/api/v1/campaigns", json=body([a.id, b.id]), headers=auth_header(token))
        assert created.status_code == 201, created.get_json()
        campaign = created.get_json()
        assert campaign["status"] == "draft" and campaign["checkin_scene"] == f"campaign:{campaign['id']}"
        published = client.post(f"/api/v1/campaigns/{campaign['id']}/publish", headers=auth_header(token))
        assert published.get_json()["status"] == "published"
    advance_campaigns(session, datetime(2026, 5, 31, 16, 0, tzinfo=SH))  # 1 June 00:00 in Shanghai
    session.commit()

    credits = {
        "a1": weigh_in(session, people["a1"], 3, datetime(2026, 6, 2, 2, tzinfo=SH)).credit.points,
        "b1": weigh_in(session, people["b1"], 1, datetime(2026, 6, 3, 2, tzinfo=SH)).credit.points,
        "c1_other_community": weigh_in(session, people["c1"], 3, datetime(2026, 6, 3, 2, tzinfo=SH)).credit.points,
        "a2_before_week": weigh_in(session, people["a2"], 2, datetime(2026, 5, 31, 15, 59, tzinfo=SH)).credit.points,
        "a2_textiles": weigh_in(session, people["a2"], 0.01, datetime(2026, 6, 2, 2, tzinfo=SH),
                                action_type="textiles_dropoff").credit.points,
        "a1_after_week": weigh_in(session, people["a1"], 1, datetime(2026, 6, 7, 16, 0, tzinfo=SH)).credit.points,
    }
    assert credits == {"a1": 60, "b1": 20, "c1_other_community": 30, "a2_before_week": 20, "a2_textiles": 12,
                       "a1_after_week": 10}
    scan = scan_scene(session, people["a2"], f"campaign:{campaign['id']}", datetime(2026, 6, 5, 2, tzinfo=SH))
    assert (scan.code, scan.points) == ("checked_in", 20)
    session.commit()
    with freeze_time("2026-06-05T03:00:00Z"):
        on_site = client.post(f"/api/v1/campaigns/{campaign['id']}/check-ins", json={"resident_id": people["b1"].id},
                              headers=auth_header(token))
        assert on_site.status_code == 201, on_site.get_json()
        assert on_site.get_json()["points"] == 20

    with freeze_time("2026-06-09T02:00:00Z"):
        figures = client.get(f"/api/v1/figures/campaigns/{campaign['id']}", headers=auth_header(token)).get_json()
        assert (figures["participants"], figures["actions"], figures["points"]) == (2, 2, 80)
        assert (figures["checkins"], figures["checkin_points"], figures["enrolled"]) == (2, 40, 3)
        assert {p["community"]: p["points"] for p in figures["by_community"]} == {"鹊山社区": 60, "大桥社区": 20}

        week = client.get(f"/api/v1/figures/communities/{a.id}?from=2026-06-01&to=2026-06-07&group=week",
                          headers=auth_header(token)).get_json()
        assert [(s["period"], s["points"]) for s in week["series"]] == [("2026-W23", 60 + 12 + 20)]
        assert {c["category"]: c["points"] for c in week["by_category"]} == {"community": 20, "waste": 72}
        assert week["grams"] == 12  # only textiles claim carbon; recyclables are points only

        board = client.get(f"/api/v1/leaderboards/communities/{a.id}?month=2026-06", headers=auth_header(token))
        assert [(r["rank"], r["name"], r["points"]) for r in board.get_json()["rows"]] == [
            (1, "张*明", 70), (2, "李*", 32)]  # a2 weighed in on 31 May (Shanghai)
        streets = client.get(f"/api/v1/leaderboards/streets/{street.id}?month=2026-06",
                             headers=auth_header(token)).get_json()
        assert [(r["name"], r["points"]) for r in streets["rows"]] == [("鹊山社区", 102), ("大桥社区", 40), ("新园社区", 30)]

        exported = client.get(f"/api/v1/leaderboards/communities/{a.id}?month=2026-06&format=csv",
                              headers=auth_header(token))
        assert exported.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in exported.headers["Content-Disposition"] and ".csv" in exported.headers["Content-Disposition"]
        assert exported.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
        assert rows[0][:3] == ["排名", "居民", "积分"] and rows[1][:3] == ["1", "张*明", "70"]

        xlsx = client.get(f"/api/v1/figures/campaigns/{campaign['id']}?format=xlsx", headers=auth_header(token))
        assert xlsx.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        sheet = load_workbook(io.BytesIO(xlsx.data)).active
        values = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert values[0] == ["社区", "参与人数", "行动次数", "减排量(克CO2e)", "积分"]
        assert values[-1] == ["合计", 2, 2, 0, 80]


@pytest.mark.parametrize("changes, field", [
    ({"active_from": WEEK_UNTIL, "active_until": WEEK_FROM}, "active_until"),
    ({"visible_from": "2026-06-10T00:00:00+08:00", "visible_until": "2026-05-28T00:00:00+08:00"}, "visible_until"),
    ({"multipliers": {"recyclables_dropoff": 0}}, "multipliers.recyclables_dropoff"),
    ({"multipliers": {"recyclables_dropoff": 1}}, "multipliers.recyclables_dropoff"),
    ({"multipliers": {"recyclables_dropoff": 1000}}, "multipliers.recyclables_dropoff"),
    ({"active_from": "2026-06-01T00:00:00"}, "active_from"),
])
def test_bad_campaign_input_is_a_4xx_envelope_and_writes_nothing(client, session, admin_token, area, changes, field):
    _, a, b, _, _ = area
    response = client.post("/api/v1/campaigns", json=body([a.id, b.id], **changes), headers=auth_header(admin_token))
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] in ("campaign_invalid", "validation_error") and field in payload["errors"]
    assert session.query(Campaign).count() == 0


def test_check_in_outside_the_window_is_refused_and_nothing_written(client, session, admin_token, area):
    _, a, _, _, people = area
    with freeze_time("2026-05-30T02:00:00Z"):
        campaign = client.post("/api/v1/campaigns", json=body([a.id]), headers=auth_header(admin_token)).get_json()
        client.post(f"/api/v1/campaigns/{campaign['id']}/publish", headers=auth_header(admin_token))
        early = client.post(f"/api/v1/campaigns/{campaign['id']}/check-ins", json={"resident_id": people["a1"].id},
                            headers=auth_header(admin_token))
    assert early.status_code == 409 and early.get_json()["code"] == "checkin_not_open"
    with freeze_time("2026-06-08T00:00:00Z"):
        late = client.post(f"/api/v1/campaigns/{campaign['id']}/check-ins", json={"resident_id": people["a1"].id},
                           headers=auth_header(admin_token))
    assert late.status_code == 409
    assert session.query(GreenAction).count() == 0 and session.query(CampaignCheckin).count() == 0


def test_worker_is_kept_to_their_communities(client, session, worker_token, area):
    street, a, _, c, _ = area
    token = worker_token(a)
    with freeze_time("2026-05-30T02:00:00Z"):
        refused = client.post("/api/v1/campaigns", json=body([a.id, c.id]), headers=auth_header(token))
        assert refused.status_code == 422 and f"community_ids.{c.id}" in refused.get_json()["errors"]
        assert client.get(f"/api/v1/figures/communities/{c.id}", headers=auth_header(token)).status_code == 404
        assert client.get(f"/api/v1/leaderboards/communities/{c.id}", headers=auth_header(token)).status_code == 404
        assert client.get(f"/api/v1/leaderboards/streets/{street.id}", headers=auth_header(token)).status_code == 200
    assert session.query(Campaign).count() == 0


def test_transitions_and_draft_only_edits_over_http(client, admin_token, area):
    _, a, _, _, _ = area
    headers = auth_header(admin_token)
    with freeze_time("2026-05-30T02:00:00Z"):
        campaign = client.post("/api/v1/campaigns", json=body([a.id]), headers=headers).get_json()
        url = f"/api/v1/campaigns/{campaign['id']}"
        assert client.patch(url, json={"multipliers": {"recyclables_dropoff": 3}}, headers=headers).status_code == 200
        assert client.post(f"{url}/publish", headers=headers).status_code == 200
        assert client.post(f"{url}/publish", headers=headers).get_json()["code"] == "invalid_transition"
        frozen = client.patch(url, json={"multipliers": {"recyclables_dropoff": 2}}, headers=headers)
        assert frozen.status_code == 409 and frozen.get_json()["code"] == "campaign_not_draft"
        assert client.patch(url, json={"title": "垃圾分类宣传周"}, headers=headers).get_json()["title"] == "垃圾分类宣传周"
        assert client.post(f"{url}/cancel", json={"reason": "天气"}, headers=headers).get_json()["status"] == "cancelled"
        assert client.post(f"{url}/cancel", json={}, headers=headers).status_code == 409


def test_resident_enrols_once_in_an_open_campaign(client, area, admin_token, resident_token):
    _, a, _, _, people = area
    with freeze_time("2026-05-30T02:00:00Z"):
        campaign = client.post("/api/v1/campaigns", json=body([a.id]), headers=auth_header(admin_token)).get_json()
        url = f"/api/v1/me/campaigns/{campaign['id']}/enrolment"
        mine = auth_header(resident_token(people["a1"]))
        assert client.post(url, headers=mine).get_json()["code"] == "campaign_not_found"  # a draft is not shown
        client.post(f"/api/v1/campaigns/{campaign['id']}/publish", headers=auth_header(admin_token))
        assert [c["title"] for c in client.get("/api/v1/me/campaigns", headers=mine).get_json()] == ["垃圾分类周"]
        first, again = client.post(url, headers=mine).get_json(), client.post(url, headers=mine).get_json()
        assert (first["created"], again["created"], first["via"]) == (True, False, "self")
        stranger = auth_header(resident_token(people["c1"]))
        assert client.post(url, headers=stranger).status_code == 404
