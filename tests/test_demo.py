"""The demo seed: idempotent, and everything it records went through the real services."""
from __future__ import annotations

from sqlalchemy import func, select

from carbon_credit.demo.seed import DEMO_ADMIN, demo_openid, seed_demo
from carbon_credit.ledger.points import ledger_is_consistent
from carbon_credit.models import Account, Community, Credit, Resident, RuleSet, Staff, Street

from .factories import FIXED_NOW, login
from .outbound_support import offline_app, rsps  # noqa: F401  (fixtures)


def _hash(password):
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="pbkdf2:sha256:1000")


def test_demo_seed_builds_streets_staff_rules_and_history_once(session):
    created = seed_demo(session, FIXED_NOW, _hash, residents=6, days=5)
    session.commit()
    assert created["residents"] == 6 and created["actions"] > 20
    streets = set(session.scalars(select(Street.name)))
    assert {"大桥街道", "崔寨街道", "孙耿街道", "太平街道"} <= streets
    assert session.scalar(select(func.count(Community.id))) == 12
    assert {s.role for s in session.scalars(select(Staff))} == {"admin", "worker"}
    assert session.scalar(select(RuleSet.status)) == "activated"
    assert session.scalar(select(func.count(Credit.id))) == created["actions"] + created["older_actions"]
    assert all(ledger_is_consistent(session, a.id) for a in session.scalars(select(Account)))
    assert seed_demo(session, FIXED_NOW, _hash) == {}
    assert session.scalar(select(func.count(Resident.id))) == 6


def test_the_readme_tour_resident_has_metro_credits_to_explain(session):
    seed_demo(session, FIXED_NOW, _hash, residents=3, days=5)
    session.commit()
    tour = session.scalar(select(Resident.id).where(Resident.openid == demo_openid(1)))
    metro = session.scalars(select(Credit).where(Credit.resident_id == tour, Credit.action_type == "metro_ride")).all()
    assert metro and all(credit.trace["factor"]["grams_per_unit"] == "46.8" for credit in metro)


def test_demo_admin_can_sign_in_and_a_demo_resident_gets_a_token(app, client, session, runner):
    seed_demo(session, FIXED_NOW, _hash, residents=2, days=1)
    session.commit()
    assert login(client, *DEMO_ADMIN)
    result = runner.invoke(args=["residents", "token", demo_openid(1)])
    assert result.exit_code == 0 and len(result.output.strip()) > 40


def test_the_demo_has_something_for_every_console_page(offline_app, session, rsps):
    from api.cli_demo import seed_demo_app
    from carbon_credit.models import (
        ApplianceClaim,
        GreenAction,
        MassSend,
        MenuPublication,
        Partner,
        QRCode,
        Redemption,
        Station,
    )
    from carbon_credit.models.wechat import TemplateSend

    created = seed_demo_app(offline_app, FIXED_NOW, residents=6, days=3)
    session.rollback()  # the seed wrote on the app's connections
    assert created["stations"] >= 3 and created["claims"] == 3 and created["redemptions"] >= 1
    assert session.scalar(select(func.count(Partner.id))) == 2
    assert session.scalar(select(func.count(Station.id))) == created["stations"]
    assert session.scalar(select(func.count(ApplianceClaim.id))) == 3
    assert session.scalar(select(func.count(Redemption.id))) == created["redemptions"]
    oldest = session.scalar(select(func.min(GreenAction.occurred_at)))
    assert (FIXED_NOW - oldest).days > 90  # months of history, so trends show
    # 发送记录: what the WeChat face's flows recorded offline (tests/test_sends_offline.py has the detail).
    assert session.scalar(select(func.count(QRCode.id))) == created["stations"] + 1
    assert session.scalar(select(func.count(MassSend.id))) == 1
    assert session.scalar(select(func.count(TemplateSend.id))) >= created["redemptions"]
    assert session.scalar(select(func.count(MenuPublication.id))) == 1
    assert len(rsps.calls) == 0
    assert all(ledger_is_consistent(session, a.id) for a in session.scalars(select(Account)))
    from carbon_credit.models import Budget

    assert session.scalar(select(func.count(Budget.id))) == 1
    claimants = session.scalars(select(ApplianceClaim.resident_id)).all()
    assert {session.get(Resident, r).community.street.name for r in claimants} == {"大桥街道"}
