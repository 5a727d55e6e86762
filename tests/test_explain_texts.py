"""What a resident reads in a credit's explanation: Chinese sentences, never raw trace data."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from carbon_credit.actions.record import ActionInput, record_action
from carbon_credit.budgets.admin import create_budget
from carbon_credit.rules.explain import explain_credit

from .campaign_support import install_rules, running_campaign
from .factories import FIXED_NOW, make_community, make_resident, make_staff

# Signs of data that was not turned into words: dict or list reprs, English trace keys.
RAW = re.compile(r"[{}\[\]]|[a-z]+_[a-z_]+|'[a-z_]+':")


def _ride(session, resident, ext, *, action_type="bus_ride", quantity="1", unit="trip"):
    inp = ActionInput(resident_id=resident.id, action_type=action_type, quantity=Decimal(quantity), unit=unit,
                      occurred_at=FIXED_NOW - timedelta(minutes=30), source="partner_feed", evidence="partner",
                      idem_scope="transit:test", external_id=ext)
    return record_action(session, inp, FIXED_NOW).credit


def _texts(credit, name):
    explained = explain_credit(credit, name)
    return [explained["summary"]] + [step["text"] for step in explained["steps"]], explained["steps"]


def test_a_budget_step_is_a_chinese_sentence_with_its_figures(session):
    install_rules(session)
    admin = make_staff(session, "budget-admin", "admin")
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=date(2026, 6, 1), points_limit=100, mode="stop")
    first, second = (_ride(session, make_resident(session), ext) for ext in ("b-1", "b-2"))
    texts, steps = _texts(second, "公交出行")
    assert not [text for text in texts if RAW.search(text)], texts
    budget = next(step for step in steps if step["step"] == "budget")
    assert budget["text"] == ("2026年6月所有行为积分预算 100 分，此前已发放 80 分：预算只剩 20 分，超出部分不计"
                              "（80 → 20 积分）。预算只影响积分，减排克数照常记录")
    assert (budget["points_before"], budget["points_after"]) == (80, 20)
    assert "未超出" in next(step for step in _texts(first, "公交出行")[1] if step["step"] == "budget")["text"]


def test_a_scaled_type_budget_names_the_action_type_and_the_factor(session):
    install_rules(session)
    admin = make_staff(session, "budget-admin", "admin")
    create_budget(session, FIXED_NOW, actor_id=admin.id, month=date(2026, 6, 1), points_limit=10, mode="scale",
                  scale_factor=Decimal("0.5"), action_type="bus_ride")
    credit = _ride(session, make_resident(session), "s-1")
    budget = next(step for step in _texts(credit, "公交出行")[1] if step["step"] == "budget")
    assert budget["text"].startswith("2026年6月公交出行积分预算 10 分，此前已发放 0 分：超出预算的部分按 × 0.5 计（80 → 45 积分）")


def test_a_campaign_bonus_names_the_campaign_once(session):
    install_rules(session)
    home = make_community(session)
    running_campaign(session, [home], title="全国低碳日", multipliers={"metro_ride": "1.5"})
    credit = _ride(session, make_resident(session, community=home), "m-1", action_type="metro_ride",
                   quantity="10", unit="km")
    texts, steps = _texts(credit, "地铁出行")
    adjustment = next(step for step in steps if step["step"] == "adjustment")
    assert adjustment["text"] == "活动「全国低碳日」地铁出行积分×1.5：468 × 1.5 = 702 积分"
    assert sum(text.count("活动「") for text in texts) == 1
    assert not [text for text in texts if RAW.search(text)], texts


def test_caps_are_named_by_what_they_limit_not_by_their_identifier(session):
    install_rules(session)
    resident = make_resident(session)
    rides = [_ride(session, resident, f"c-{n}") for n in range(5)]  # the daily limit is 4 rides
    texts, steps = _texts(rides[-1], "公交出行")
    assert rides[-1].status == "capped" and not [text for text in texts if RAW.search(text)], texts
    assert texts[0] == "公交出行 1 次：已达每日上限 4 次，记录为封顶，0 g CO2e、0 积分（规则 v1）"
    assert "每日上限 4 次：此前已用 4 次，已超出上限，本次不计" in [s["text"] for s in steps if s["step"] == "cap"]


def test_units_and_appliance_categories_are_words(session):
    from types import SimpleNamespace

    trace = {"rule_set": {"version": 1}, "method": "appliance_kwh", "quantity": "1", "unit": "item",
             "appliance": {"category": "washing_machine", "fallback_points": 500}, "evidence": "worker",
             "evidence_weight": "1", "grams_before_weight": "0", "points_per_gram": "1", "caps": [],
             "adjustments": [], "grams": 0, "points": 500}
    credit = SimpleNamespace(trace=trace, status="credited", grams=0, points=500, rule_version=1)
    texts, _steps = _texts(credit, "一级能效家电购买")
    assert texts[0] == "一级能效家电购买 1 件：减排 0 g CO2e，获得 500 积分（规则 v1）"
    assert any(text.startswith("「洗衣机」家电尚未设置基准耗电量") for text in texts)
    assert not [text for text in texts if RAW.search(text)], texts
