"""概览: admins see the city's figures and the points owed; a worker only their communities' figures."""
from __future__ import annotations

from .console_support import sign_in
from .domain_helpers import install_rules
from .factories import make_community, make_staff


def _people(session):
    install_rules(session)
    mine, theirs = make_community(session, "滨河社区"), make_community(session, "孙耿社区")
    make_staff(session, "worker", "worker", communities=[mine])
    make_staff(session, "admin", "admin")
    session.commit()
    return mine, theirs


def test_an_admin_sees_the_liability_and_budgets_and_a_worker_does_not(app, client, session):
    _people(session)
    sign_in(client, "admin")
    assert "积分负债" in client.get("/console/").get_data(as_text=True)
    worker = app.test_client()
    sign_in(worker, "worker")
    page = worker.get("/console/").get_data(as_text=True)
    assert "积分负债" not in page and "预算使用" not in page


def test_the_filters_offer_only_the_workers_communities(client, session):
    mine, theirs = _people(session)
    sign_in(client, "worker")
    page = client.get("/console/").get_data(as_text=True)
    assert "滨河社区" in page and "孙耿社区" not in page
    assert client.get(f"/console/?community={theirs.id}").status_code == 404
    assert client.get(f"/console/?community={mine.id}&month=2026-05").status_code == 200


def test_a_malformed_month_is_refused_in_chinese(client, session):
    _people(session)
    sign_in(client, "worker")
    page = client.get("/console/?month=May").get_data(as_text=True)
    assert "格式如 2026-06" in page


def test_1999_grams_never_show_as_two_kilograms(client, session):
    """Carbon amounts round down everywhere: the figures, the tables and the chart's data."""
    import json
    import re

    from carbon_credit.timeutil import utcnow

    from .domain_helpers import act
    from .factories import make_resident

    mine, _ = _people(session)
    now = utcnow()
    resident = make_resident(session, community=mine, now=now)
    credit = act(session, resident, "textiles_dropoff", "1.562", "kg", now=now).credit  # 1.562 kg × 1280 g/kg
    session.commit()
    assert (credit.status, credit.grams) == ("credited", 1999)
    sign_in(client, "worker")
    page = client.get("/console/").get_data(as_text=True)
    kpi = re.search(r'<div class="label">减排量</div>\s*<div class="value">([^<]*)<small>', page).group(1)
    cells = re.findall(r'<td class="num">([\d.,]+)</td>', page)
    chart = json.loads(re.search(r'data-chart="trend"[^>]*>\s*<script type="application/json">(.*?)</script>',
                                 page, re.S).group(1))
    assert kpi == "1.9"
    assert cells.count("1.9") == 2 and "2.0" not in cells and "2" not in cells  # the category and the community
    assert 1.9 in chart["kg"] and max(chart["kg"]) == 1.9
