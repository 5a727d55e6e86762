"""现场称重: a weigh-in is recorded once however often the form is sent, and only for the worker's residents."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from carbon_credit.models import GreenAction, Station

from .console_support import csrf_token, sign_in
from .domain_helpers import install_rules
from .factories import FIXED_NOW, make_community, make_resident, make_staff


def _setup(session):
    install_rules(session)
    mine, theirs = make_community(session), make_community(session)
    make_staff(session, "worker", "worker", communities=[mine])
    station = Station(name="滨河回收站", kind="recycling", community_id=mine.id, created_at=FIXED_NOW,
                      updated_at=FIXED_NOW)
    session.add(station)
    residents = []
    for community, tail in ((mine, "1234"), (theirs, "5678")):
        resident = make_resident(session, community=community, display_name="王秀英")
        resident.phone_tail = tail
        residents.append(resident)
    session.commit()
    return station, residents


def _actions(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(GreenAction))


def _send(client, form: dict):
    page = client.get("/console/weigh-in").get_data(as_text=True)
    token = form.pop("token", None) or re.search(r'name="token" type="hidden" value="([^"]+)"', page)[1]
    data = {"csrf_token": csrf_token(page), "token": token, **form}
    return client.post("/console/weigh-in", data=data), token


def test_a_weigh_in_credits_once_even_when_the_form_is_sent_twice(client, session):
    station, _ = _setup(session)
    sign_in(client, "worker")
    form = {"station": str(station.id), "name": "王秀英", "phone_tail": "1234", "category": "paper",
            "weight_kg": "2.5"}
    first, token = _send(client, dict(form))
    assert first.status_code == 302
    again, _ = _send(client, {**form, "token": token})
    assert again.status_code == 302
    assert "没有重复计分" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert _actions(session) == 1


def test_a_resident_of_another_community_is_not_found(client, session):
    station, _ = _setup(session)
    sign_in(client, "worker")
    response, _ = _send(client, {"station": str(station.id), "name": "王秀英", "phone_tail": "5678",
                                 "category": "paper", "weight_kg": "1"})
    assert response.status_code == 404 and "没有找到符合条件的居民" in response.get_data(as_text=True)
    assert _actions(session) == 0


def test_a_weight_that_is_not_a_number_is_refused_in_chinese(client, session):
    station, _ = _setup(session)
    sign_in(client, "worker")
    response, _ = _send(client, {"station": str(station.id), "name": "王秀英", "phone_tail": "1234",
                                 "category": "paper", "weight_kg": "两斤"})
    assert response.status_code == 422 and "不是有效的小数" in response.get_data(as_text=True)
    assert _actions(session) == 0
