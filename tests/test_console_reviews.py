"""The review page: a reason is needed to reject, and photos stay within the worker's communities."""
from __future__ import annotations

from carbon_credit.models import GreenAction

from .console_support import pending_claim, post_form, sign_in
from .domain_helpers import install_rules
from .factories import make_community, make_resident, make_staff


def _setup(session):
    install_rules(session)
    mine, theirs = make_community(session), make_community(session)
    make_staff(session, "worker", "worker", communities=[mine])
    own = pending_claim(session, make_resident(session, community=mine))
    other = pending_claim(session, make_resident(session, community=theirs), invoice_no="044001900111-00000002")
    session.commit()
    return own, other


def test_rejecting_without_a_reason_is_refused_in_chinese_and_decides_nothing(client, session):
    own, _ = _setup(session)
    sign_in(client, "worker")
    response = post_form(client, "/console/reviews", f"/console/reviews/{own.action_id}", {"decision": "reject"})
    assert response.status_code == 422 and "驳回时请写明理由" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(GreenAction, own.action_id).status == "pending_review"


def test_another_communitys_claim_and_its_photo_read_as_unknown(client, session):
    own, other = _setup(session)
    sign_in(client, "worker")
    assert client.get(f"/console/reviews/{own.action_id}/photo").status_code == 200
    assert client.get(f"/console/reviews/{other.action_id}/photo").status_code == 404
    response = post_form(client, "/console/reviews", f"/console/reviews/{other.action_id}", {"decision": "approve"})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(GreenAction, other.action_id).status == "pending_review"
    assert "共 1 条待审核" in client.get("/console/reviews").get_data(as_text=True)
