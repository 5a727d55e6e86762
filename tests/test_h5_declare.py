"""自报 on the residents' pages: it says plainly it counts at a lower weight, and the credit shows that weight."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from carbon_credit.models import GreenAction

from .domain_helpers import install_rules
from .factories import make_community, make_resident
from .h5_support import demo_app, h5_sign_in  # noqa: F401


@pytest.fixture
def resident(session):
    install_rules(session)
    resident = make_resident(session, community=make_community(session, "滨河社区"), display_name="王秀英")
    session.commit()
    return resident


def _post(client, **values):
    page = client.get("/h5/declare").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    today = re.search(r'name="day" type="date" min="[^"]+" max="([^"]+)"', page).group(1)
    return client.post("/h5/declare", data={"csrf_token": token, "key": key, "day": today, **values})


def test_the_page_says_a_declaration_counts_at_a_lower_weight(demo_app, client, resident):
    h5_sign_in(client, resident)
    html = client.get("/h5/declare").get_data(as_text=True)
    assert "按较低的权重计分" in html and "共享单车" in html and "一级能效" not in html


def test_a_declaration_is_credited_at_the_self_report_weight_and_explained(demo_app, client, resident):
    h5_sign_in(client, resident)
    response = _post(client, action_type="bike_ride", quantity="1")
    assert response.status_code == 302 and "/h5/credits/" in response.headers["Location"]
    assert "自行申报，权重 0.5" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["很多", "-3", "0"])
def test_a_bad_quantity_is_refused_in_chinese_and_stores_nothing(demo_app, client, session, resident, quantity):
    h5_sign_in(client, resident)
    response = _post(client, action_type="bike_ride", quantity=quantity)
    assert response.status_code == 422 and "没有保存任何内容" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(GreenAction)) == 0
