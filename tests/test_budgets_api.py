"""The budgets endpoints: admins set a month's budget and read issued points, liability and forecast."""
from __future__ import annotations

from carbon_credit.budgets.limits import month_of
from carbon_credit.timeutil import utcnow

from .factories import auth_header
from .reward_support import count


def test_admin_sets_a_budget_and_reads_the_month(client, session, admin_token):
    month = month_of(utcnow()).strftime("%Y-%m")
    headers = auth_header(admin_token)
    created = client.post("/api/v1/budgets", headers=headers,
                          json={"month": month, "points_limit": 50_000, "mode": "scale", "scale_factor": "0.5"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json() | {"action_type": None, "scale_factor": 0.5} == created.get_json()
    again = client.post("/api/v1/budgets", headers=headers, json={"month": month, "points_limit": 1, "mode": "stop"})
    assert again.status_code == 409 and again.get_json()["code"] == "budget_exists"

    report = client.get(f"/api/v1/budgets?month={month}", headers=headers).get_json()
    assert report["month"] == month and report["issued_points"] == 0 and report["liability_points"] == 0
    assert "elapsed fraction" in report["forecast_method"]
    assert [line["budget"]["id"] for line in report["budgets"]] == [created.get_json()["id"]]

    patched = client.patch(f"/api/v1/budgets/{created.get_json()['id']}", headers=headers, json={"mode": "stop"})
    assert patched.status_code == 200 and patched.get_json()["scale_factor"] is None


def test_bad_budgets_get_422_and_nothing_is_written(client, session, admin_token):
    headers = auth_header(admin_token)
    for body in ({"month": "2026-13", "points_limit": 10, "mode": "stop"},
                 {"month": "2026-06", "points_limit": -5, "mode": "stop"},
                 {"month": "2026-06", "points_limit": 10, "mode": "scale", "scale_factor": "1.5"},
                 {"month": "2026-06", "points_limit": 10, "mode": "scale"}):
        response = client.post("/api/v1/budgets", headers=headers, json=body)
        assert response.status_code == 422, body
        assert response.get_json()["code"] in ("validation_error", "invalid_input")
    from carbon_credit.models import Budget
    session.commit()
    assert count(session, Budget) == 0


def test_workers_cannot_set_budgets(client, worker_token):
    response = client.post("/api/v1/budgets", headers=auth_header(worker_token()),
                           json={"month": "2026-06", "points_limit": 10, "mode": "stop"})
    assert response.status_code == 403
