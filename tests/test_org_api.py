"""The streets and communities endpoints: admins create, rename and move; workers are refused."""
from __future__ import annotations

from .factories import make_community


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_creates_renames_and_moves_through_the_api(client, admin_token):
    street = client.post("/api/v1/streets", json={"name": "大桥街道", "district": "济阳区"}, headers=_auth(admin_token))
    other = client.post("/api/v1/streets", json={"name": "崔寨街道"}, headers=_auth(admin_token))
    assert street.status_code == 201 and street.get_json()["communities"] == []
    made = client.post("/api/v1/communities", json={"street_id": street.get_json()["id"], "name": "滨河社区"},
                       headers=_auth(admin_token))
    assert made.status_code == 201 and made.get_json()["street_name"] == "大桥街道"
    community_id = made.get_json()["id"]
    moved = client.patch(f"/api/v1/communities/{community_id}", json={"name": "滨河新区社区",
                                                                      "street_id": other.get_json()["id"]},
                         headers=_auth(admin_token))
    assert moved.status_code == 200 and moved.get_json()["street_name"] == "崔寨街道"
    assert moved.get_json()["name"] == "滨河新区社区"
    renamed = client.patch(f"/api/v1/streets/{street.get_json()['id']}", json={"name": "崔寨街道"},
                           headers=_auth(admin_token))
    assert renamed.status_code == 409 and renamed.get_json()["code"] == "street_name_taken"


def test_a_worker_cannot_create_or_move(client, session, worker_token):
    community = make_community(session)
    token = worker_token(community)
    assert client.post("/api/v1/streets", json={"name": "新街道"}, headers=_auth(token)).status_code == 403
    assert client.patch(f"/api/v1/communities/{community.id}", json={"name": "改名"},
                        headers=_auth(token)).status_code == 403
