"""The monthly street report: figures by category and community, per resident and participation;
the console page, its scope and its XLSX."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from carbon_credit.errors import NotFound
from carbon_credit.reporting.overview import current_month
from carbon_credit.reporting.street_report import street_report
from carbon_credit.timeutil import utcnow

from .console_support import sign_in
from .domain_helpers import act, install_rules
from .factories import make_community, make_resident, make_staff


@pytest.fixture
def street(session):
    install_rules(session)
    first = make_community(session, "滨河社区")
    second = make_community(session, "鹊华社区", street=first.street)
    elsewhere = make_community(session, "孙耿社区")
    riders = [make_resident(session, community=first) for _ in range(2)]
    make_resident(session, community=second)  # follows, takes no part
    now = utcnow()
    act(session, riders[0], "metro_ride", "10", "km", now=now)  # 468 g
    act(session, riders[1], "bus_ride", "10", "km", now=now)  # 269 g
    act(session, make_resident(session, community=elsewhere), "metro_ride", "5", "km", now=now)
    make_staff(session, "worker", "worker", communities=[first])
    session.commit()
    return {"first": first, "second": second, "elsewhere": elsewhere}


def test_the_report_counts_the_streets_communities_only(session, street):
    report = street_report(session, street["first"].street_id, current_month(utcnow()), utcnow())
    assert [r["community"] for r in report["communities"]] == ["滨河社区", "鹊华社区"]
    assert report["totals"]["grams"] == 737 and report["totals"]["residents"] == 3
    assert report["totals"]["participants"] == 2 and report["totals"]["participation"] == round(2 / 3, 4)
    assert report["communities"][0]["participation"] == 1.0 and report["communities"][1]["participation"] == 0
    assert [c["category"] for c in report["categories"]] == ["transit"]


def test_a_worker_sees_only_their_communities_and_no_other_street(session, street):
    scope = (street["first"].id,)
    report = street_report(session, street["first"].street_id, current_month(utcnow()), utcnow(), scope=scope)
    assert [r["community"] for r in report["communities"]] == ["滨河社区"]
    with pytest.raises(NotFound):
        street_report(session, street["elsewhere"].street_id, current_month(utcnow()), utcnow(), scope=scope)


def test_the_console_report_prints_and_downloads_the_same_tables(client, session, street):
    sign_in(client, "worker")
    page = client.get("/console/reports").get_data(as_text=True)
    assert "碳普惠月报" in page and "滨河社区" in page and "孙耿社区" not in page and "打印（A4）" in page
    assert client.get(f"/console/reports?street={street['elsewhere'].street_id}").status_code == 404
    download = client.get(f"/console/reports?street={street['first'].street_id}&format=xlsx")
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["分类", "社区", "活动"]
    rows = list(book["社区"].values)
    assert rows[0][0] == "社区" and rows[1][0] == "滨河社区" and rows[-1][0] == "合计"
    assert rows[1][2] == 2


def test_the_street_ranking_and_a_campaigns_figures_download_within_the_workers_area(client, session, street):
    from .campaign_support import plain_campaign

    mine = plain_campaign(session, [street["first"]], status="published")
    theirs = plain_campaign(session, [street["elsewhere"]], status="published")
    session.commit()
    sign_in(client, "worker")
    ranking = client.get(f"/console/reports/{street['first'].street_id}/ranking?format=csv")
    assert ranking.status_code == 200 and "滨河社区" in ranking.data.decode("utf-8-sig")
    assert client.get(f"/console/reports/{street['elsewhere'].street_id}/ranking?format=csv").status_code == 404
    assert client.get(f"/console/reports/{street['first'].street_id}/ranking?format=pdf").status_code == 404
    figures = client.get(f"/console/campaigns/{mine.id}/figures?format=xlsx")
    assert figures.status_code == 200 and load_workbook(io.BytesIO(figures.data)).active.max_row >= 1
    assert client.get(f"/console/campaigns/{theirs.id}/figures?format=csv").status_code == 404
