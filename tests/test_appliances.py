"""Appliance claims: submission with an invoice photo, the review queue, and credits with their trace."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from carbon_credit.models import Account, AuditLog, GreenAction, Notification, Resident
from carbon_credit.models.appliances import ApplianceClaim, EvidencePhoto
from carbon_credit.rules.versions import activate_rule_set, create_draft, update_rule
from carbon_credit.timeutil import local_date

from .factories import auth_header, login, make_community, make_resident
from .partner_support import install_rules

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512
URL = "/api/v1/me/appliances"


def form(**overrides):
    today = local_date(datetime.now(timezone.utc))
    data = {"category": "refrigerator", "energy_grade": "1", "brand": "海尔", "model": "BCD-470", "label_kwh": "300",
            "invoice_no": "044001900111-12345678", "invoice_date": (today - timedelta(days=3)).isoformat(),
            "photo": (io.BytesIO(JPEG), "invoice.jpg"), **overrides}
    if isinstance(data["photo"], bytes):
        data["photo"] = (io.BytesIO(data["photo"]), "invoice.bin")
    return data


def submit(client, token, **overrides):
    return client.post(URL, data=form(**overrides), headers=auth_header(token), content_type="multipart/form-data")


@pytest.fixture
def people(session, resident_token, worker_token, admin_token):
    """Two residents of one community, a worker there, a worker elsewhere, and an admin."""
    install_rules(session)
    community, elsewhere = make_community(session), make_community(session)
    alice, bob = make_resident(session, community=community), make_resident(session, community=community)
    people = {"alice_id": alice.id, "bob_id": bob.id, "alice": resident_token(alice), "bob": resident_token(bob),
              "community": community.id}
    session.commit()
    people["worker"] = worker_token(community, username="worker")
    people["stranger"] = worker_token(elsewhere, username="stranger")
    people["admin"] = admin_token
    return people


def review(client, token, action_id, approve, note=""):
    return client.post(f"/api/v1/reviews/{action_id}", json={"approve": approve, "note": note},
                       headers=auth_header(token))


def total(response) -> int:
    assert response.status_code == 200, response.get_json()
    return json.loads(response.headers["X-Pagination"])["total"]


def balance(session, resident_id):
    session.commit()  # a fresh snapshot: the app committed on its own connection
    return session.scalar(select(Account.balance).where(Account.resident_id == resident_id))


def test_a_claim_goes_from_submission_through_review_to_a_credit_with_its_trace(client, session, people):
    made = submit(client, people["alice"])
    assert made.status_code == 201, made.get_json()
    claim = made.get_json()
    assert claim["status"] == "pending" and balance(session, people["alice_id"]) == 0
    queue = client.get("/api/v1/reviews?status=pending", headers=auth_header(people["worker"]))
    assert total(queue) == 1
    item = queue.get_json()[0]
    assert (item["action_id"], item["status"], item["attributes"]["label_kwh"]) == (claim["action_id"],
                                                                                   "pending_review", "300")
    assert item["claim"]["invoice_no"] == "044001900111-12345678" and item["attributes"]["invoice_no"] == \
        "04400190011112345678"
    photo = client.get(item["photo_url"], headers=auth_header(people["worker"]))
    assert (photo.status_code, photo.mimetype, photo.data) == (200, "image/jpeg", JPEG)
    assert client.get(item["photo_url"], headers=auth_header(people["alice"])).status_code == 403

    decided = review(client, people["worker"], claim["action_id"], True, "发票与型号一致")
    assert decided.status_code == 200, decided.get_json()
    result = decided.get_json()
    assert (result["status"], result["points"], result["grams"]) == ("credited", 500, 0)
    trace = result["trace"]
    assert (trace["method"], trace["evidence"], trace["evidence_weight"]) == ("appliance_kwh", "worker", "1.0")
    assert trace["appliance"]["fallback_points"] == "500" and trace["rule_set"]["version"] == 1
    assert balance(session, people["alice_id"]) == 500
    assert session.scalar(select(ApplianceClaim.status)) == "approved"
    note = session.scalar(select(Notification).where(Notification.kind == "review_result"))
    assert note.payload == {"action_type": "appliance_purchase", "approved": True, "points": 500,
                            "reason": "发票与型号一致"}
    assert session.scalar(select(AuditLog.verb).where(AuditLog.verb.like("action.%"))) == "action.approve"
    again = review(client, people["admin"], claim["action_id"], True)
    assert (again.status_code, again.get_json()["code"]) == (409, "already_reviewed")


def test_once_an_admin_sets_a_category_baseline_purchases_after_it_earn_by_kwh(client, session, people,
                                                                            resident_token):
    def tokens():  # minted inside the frozen clock, so they are fresh there
        minted = (resident_token(session.get(Resident, people["alice_id"])),
                  resident_token(session.get(Resident, people["bob_id"])), login(client, "admin"))
        session.commit()  # no read snapshot left open while the app writes
        return minted

    with freeze_time("2026-06-05T02:00:00Z", tick=True):  # 10:00 in Shanghai
        alice, _, admin = tokens()
        before = submit(client, alice, invoice_no="INV-BEFORE-1", invoice_date="2026-06-01")
        assert before.status_code == 201, before.get_json()
        now = datetime.now(timezone.utc)
        draft = create_draft(session, now, note="冰箱基准")
        params = {**draft.rule_for("appliance_purchase").params, "baseline_kwh": {"refrigerator": "302"}}
        update_rule(session, draft, "appliance_purchase", {"params": params}, now)
        activate_rule_set(session, draft, now + timedelta(seconds=1), now)
        session.commit()
    with freeze_time("2026-06-05T06:00:00Z", tick=True):  # bought at noon that day, after the new version
        _, bob, admin = tokens()
        after = submit(client, bob, invoice_no="INV-AFTER-1", invoice_date="2026-06-05")
        assert after.status_code == 201, after.get_json()
        old = review(client, admin, before.get_json()["action_id"], True).get_json()
        new = review(client, admin, after.get_json()["action_id"], True).get_json()
    assert (old["points"], old["grams"], old["trace"]["rule_set"]["version"]) == (500, 0, 1)
    appliance = new["trace"]["appliance"]
    # (302 − 300) kWh × 636.1 g/kWh × 1 year = 1272.2 g, rounded down.
    assert (new["points"], new["grams"], new["trace"]["rule_set"]["version"]) == (1272, 1272, 2)
    assert (appliance["baseline_kwh"], appliance["label_kwh"], appliance["grid_g_per_kwh"]) == ("302", "300", "636.1")


def test_an_invoice_is_claimed_once_across_residents_until_rejected(client, session, people):
    first = submit(client, people["alice"], invoice_no="inv 2026 0001")
    assert first.status_code == 201
    same = submit(client, people["bob"], invoice_no="ＩＮＶ-2026-0001")  # full-width, other separators
    assert (same.status_code, same.get_json()["code"]) == (409, "invoice_already_claimed")
    assert session.scalar(select(EvidencePhoto.id).where(EvidencePhoto.resident_id == people["bob_id"])) is None
    session.commit()
    no_reason = review(client, people["worker"], first.get_json()["action_id"], False)
    assert no_reason.status_code == 422
    rejected = review(client, people["worker"], first.get_json()["action_id"], False, "发票模糊, 请重新上传")
    assert rejected.get_json()["status"] == "rejected"
    retry = submit(client, people["bob"], invoice_no="INV20260001")
    assert retry.status_code == 201, retry.get_json()
    note = session.scalar(select(Notification).where(Notification.kind == "review_result"))
    assert (note.resident_id, note.payload["approved"], note.payload["reason"]) == (
        people["alice_id"], False, "发票模糊, 请重新上传")


def test_a_second_appliance_of_a_category_in_one_year_is_refused(client, session, people):
    assert submit(client, people["alice"], invoice_no="A-0001").status_code == 201
    second = submit(client, people["alice"], invoice_no="A-0002")
    assert (second.status_code, second.get_json()["code"]) == (409, "appliance_category_claimed")
    assert submit(client, people["alice"], invoice_no="A-0003", category="tv").status_code == 201
    assert [c["category"] for c in client.get(URL, headers=auth_header(people["alice"])).get_json()] == [
        "tv", "refrigerator"]


@pytest.mark.parametrize("overrides, status, code", [
    ({"photo": b"GIF89a" + b"\x00" * 100}, 422, "unsupported_photo_type"),
    ({"photo": b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024)}, 413, "photo_too_large"),
    ({"photo": b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024)}, 413, "request_entity_too_large"),
    ({"energy_grade": "2"}, 422, "not_grade_1"),
    ({"invoice_date": "2099-01-01"}, 422, "invalid_input"),
    ({"invoice_date": "2020-01-01"}, 422, "invalid_input"),
    ({"label_kwh": "0"}, 422, "validation_error"),
    ({"category": "spaceship"}, 422, "validation_error"),
])
def test_bad_submissions_are_refused_with_a_code(client, session, people, overrides, status, code):
    response = submit(client, people["alice"], **overrides)
    assert (response.status_code, response.get_json()["code"]) == (status, code)
    assert session.scalar(select(GreenAction.id)) is None


def test_png_photos_are_accepted(client, session, people):
    assert submit(client, people["alice"], photo=PNG).status_code == 201
    assert session.scalar(select(EvidencePhoto.content_type)) == "image/png"


def test_workers_review_only_their_communities(client, session, people):
    action_id = submit(client, people["alice"]).get_json()["action_id"]
    assert total(client.get("/api/v1/reviews", headers=auth_header(people["stranger"]))) == 0
    response = review(client, people["stranger"], action_id, True)
    assert (response.status_code, response.get_json()["code"]) == (404, "action_not_found")
    foreign = client.get(f"/api/v1/reviews?community_id={people['community']}",
                         headers=auth_header(people["stranger"]))
    assert (foreign.status_code, foreign.get_json()["code"]) == (404, "community_not_found")
    photo = client.get(f"/api/v1/reviews/{action_id}/photo", headers=auth_header(people["stranger"]))
    assert (photo.status_code, photo.get_json()["code"]) == (404, "action_not_found")
    assert balance(session, people["alice_id"]) == 0


def test_the_queue_is_filtered_and_paged(client, session, people):
    for i, category in enumerate(["refrigerator", "tv", "air_conditioner"]):
        submit(client, people["alice"], invoice_no=f"Q-000{i}", category=category)
    headers = auth_header(people["admin"])
    page = client.get("/api/v1/reviews?page=2&page_size=2", headers=headers)
    assert (total(page), json.loads(page.headers["X-Pagination"])["page"], len(page.get_json())) == (3, 2, 1)
    first = client.get("/api/v1/reviews?page_size=1", headers=headers).get_json()[0]
    review(client, people["admin"], first["action_id"], True)
    approved = client.get("/api/v1/reviews?status=approved&action_type=appliance_purchase", headers=headers)
    assert [i["action_id"] for i in approved.get_json()] == [first["action_id"]]
    assert total(client.get("/api/v1/reviews?action_type=bus_ride", headers=headers)) == 0
