"""家电 on the residents' pages: a claim with its photo; bad photos get a Chinese message and store nothing."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carbon_credit.models import ApplianceClaim, EvidencePhoto, GreenAction
from carbon_credit.timeutil import local_date, utcnow

from .console_support import pending_claim, png
from .domain_helpers import install_rules
from .factories import make_community, make_resident
from .h5_support import demo_app, form_token, h5_sign_in  # noqa: F401


@pytest.fixture
def resident(session):
    install_rules(session)
    resident = make_resident(session, community=make_community(session, "滨河社区"), display_name="王秀英")
    session.commit()
    return resident


def _fields(**overrides):
    values = {"category": "refrigerator", "brand": "海尔", "model": "BCD-470", "label_kwh": "300",
              "invoice_no": "044001900111-12345678",
              "invoice_date": (local_date(utcnow()) - timedelta(days=3)).isoformat()}
    values.update(overrides)
    return values


def _submit(client, photo: bytes, name: str = "invoice.jpg", **overrides):
    data = {**_fields(**overrides), "csrf_token": form_token(client, "/h5/appliances/new"),
            "photo": (io.BytesIO(photo), name)}
    return client.post("/h5/appliances", data=data, content_type="multipart/form-data")


def _stored(session) -> tuple[int, int, int]:
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (ApplianceClaim, EvidencePhoto, GreenAction))


def test_a_claim_with_a_photo_is_stored_pending_review(demo_app, client, session, resident):
    h5_sign_in(client, resident)
    response = _submit(client, png())
    assert response.status_code == 302
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已提交" in listing and "冰箱" in listing and "审核中" in listing
    assert _stored(session) == (1, 1, 1)


def test_the_form_asks_for_the_camera_or_album(demo_app, client, resident):
    h5_sign_in(client, resident)
    html = client.get("/h5/appliances/new").get_data(as_text=True)
    assert 'type="file" accept="image/*" capture="environment"' in html


@pytest.mark.parametrize("photo, name, message, status", [
    (b"\xff\xd8\xff" + b"0" * (6 * 1024 * 1024), "big.jpg", "照片太大了（超过 5 MB）", 413),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "invoice.jpg", "这个文件不是图片", 422),
    (b"", "empty.jpg", "请拍摄或选择一张能效标识和发票的照片", 422),
])
def test_a_bad_photo_gets_a_chinese_message_and_stores_nothing(demo_app, client, session, resident, photo, name,
                                                               message, status):
    h5_sign_in(client, resident)
    response = _submit(client, photo, name)
    html = response.get_data(as_text=True)
    assert response.status_code == status and message in html and "没有保存任何内容" in html
    assert _stored(session) == (0, 0, 0)


def test_bad_fields_are_named_beside_the_field_and_kept(demo_app, client, session, resident):
    h5_sign_in(client, resident)
    response = _submit(client, png(), label_kwh="很多", brand="海尔")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "年耗电量（千瓦时，大于 0 的数字）" in html and 'value="海尔"' in html
    assert _stored(session) == (0, 0, 0)


def test_another_residents_claim_is_not_found(demo_app, client, session, resident):
    other = make_resident(session, display_name="李建国")
    claim = pending_claim(session, other)
    session.commit()
    h5_sign_in(client, resident)
    assert client.get(f"/h5/appliances/{claim.id}").status_code == 404
    h5_sign_in(client, other)
    assert "审核中" in client.get(f"/h5/appliances/{claim.id}").get_data(as_text=True)


def test_a_photo_picked_with_wechats_js_sdk_arrives_as_base64(demo_app, client, session, resident):
    import base64

    h5_sign_in(client, resident)
    data = {**_fields(), "csrf_token": form_token(client, "/h5/appliances/new"),
            "photo_data": base64.b64encode(png()).decode()}
    assert client.post("/h5/appliances", data=data).status_code == 302
    assert _stored(session) == (1, 1, 1)


def test_the_form_offers_wechats_picker_only_once_the_js_sdk_is_ready(demo_app, client, resident):
    h5_sign_in(client, resident)
    html = client.get("/h5/appliances/new").get_data(as_text=True)
    assert '<p class="wx-only" hidden><button type="button" class="secondary" data-wx-image="#photo_data"' in html
    assert "/h5/vendor/jweixin.js" in html
