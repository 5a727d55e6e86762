"""绑卡 and 隐私 on the residents' pages: binding claims recent trips, bad numbers store nothing, erasure."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from carbon_credit.models import Resident, TransitCard

from .factories import make_community, make_resident
from .h5_support import demo_app, form_token, h5_sign_in  # noqa: F401
from .ingest_helpers import KEY, ingest, setup_rules, trip, write_file

CARD = "31010000123456"


@pytest.fixture
def resident(session):
    resident = make_resident(session, community=make_community(session, "滨河社区"), display_name="王秀英")
    session.commit()
    return resident


def _cards(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(TransitCard))


def test_binding_a_card_says_how_many_trips_and_points_it_claimed(demo_app, client, session, resident, tmp_path):
    setup_rules(session)
    ingest(session, write_file(tmp_path, [trip("u1", CARD, "bus", 8, distance="2.5"), trip("u2", CARD, "metro", 9)]))
    session.commit()
    demo_app.config.update(CARD_HASH_KEY=KEY, CARD_CLAIM_WINDOW_DAYS=3650)
    h5_sign_in(client, resident)
    html = client.post("/h5/cards", data={"number": CARD,
                                          "csrf_token": form_token(client, "/h5/cards")}).get_data(as_text=True)
    assert "绑卡成功" in html and 'data-testid="claimed-trips">2<' in html and "尾号 <strong>3456</strong>" in html
    assert _cards(session) == 1


@pytest.mark.parametrize("number", ["3101ABCD5678", "1234", "卡号"])
def test_a_card_number_with_letters_or_too_short_is_refused_in_chinese_and_stores_nothing(
        demo_app, client, session, resident, number):
    h5_sign_in(client, resident)
    response = client.post("/h5/cards", data={"number": number, "csrf_token": form_token(client, "/h5/cards")})
    assert response.status_code == 422
    assert "卡号只能是 8 到 20 位数字" in response.get_data(as_text=True)
    assert _cards(session) == 0


def test_unbinding_another_residents_card_is_not_found(demo_app, client, session, resident):
    other = make_resident(session, display_name="李建国")
    session.commit()
    h5_sign_in(client, other)
    client.post("/h5/cards", data={"number": CARD, "csrf_token": form_token(client, "/h5/cards")})
    session.rollback()
    card_id = session.scalar(select(TransitCard.id))
    client.post("/h5/logout", data={"csrf_token": form_token(client, "/h5/settings")})
    h5_sign_in(client, resident)
    response = client.post(f"/h5/cards/{card_id}/unbind", data={"csrf_token": form_token(client, "/h5/cards")})
    assert response.status_code == 404
    session.rollback()
    assert session.get(TransitCard, card_id).unbound_at is None


def test_the_privacy_page_says_how_long_messages_are_kept(demo_app, client, resident):
    demo_app.config["NOTIFICATIONS_KEEP_DAYS"] = 90
    h5_sign_in(client, resident)
    page = client.get("/h5/privacy").get_data(as_text=True)
    assert "发出后保留 90 天，之后删除" in page


def test_export_downloads_my_data(demo_app, client, resident):
    h5_sign_in(client, resident)
    response = client.get("/h5/privacy/export")
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.get_data(as_text=True))
    assert data["resident"]["display_name"] == "王秀英"


def test_deleting_the_account_needs_the_typed_confirmation_then_erases_and_signs_out(demo_app, client, session,
                                                                                    resident):
    h5_sign_in(client, resident)
    token = form_token(client, "/h5/privacy/delete")
    refused = client.post("/h5/privacy/delete", data={"confirm": "", "csrf_token": token})
    assert refused.status_code == 422 and "账户没有被注销" in refused.get_data(as_text=True)
    session.rollback()
    assert session.get(Resident, resident.id).status == "active"
    done = client.post("/h5/privacy/delete", data={"confirm": "注销", "csrf_token": token})
    assert done.status_code == 200 and "账户已注销" in done.get_data(as_text=True)
    session.rollback()
    assert session.get(Resident, resident.id).status == "anonymised"
    assert client.get("/h5/").status_code == 302
