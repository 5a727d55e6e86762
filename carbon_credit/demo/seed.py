"""Demo data that makes the product obvious at first sight.

The starting area's streets with a few communities each, the default rule set,
a demo admin and community worker, and residents with a few weeks of varied,
really computed history (every credit goes through the same services as
production). Seeding is idempotent: a second run changes nothing.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Callable

from sqlalchemy import select

from carbon_credit.actions.bulk import record_actions_in_bulk
from carbon_credit.actions.record import ActionInput
from carbon_credit.demo.operations import seed_operations
from carbon_credit.models import Account, Community, Resident, Staff, Street
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.timeutil import TZ, local_date, start_of_local_day

STREETS = {
    "大桥街道": ["大桥社区", "鹊山社区", "桥南社区"],
    "崔寨街道": ["崔寨社区", "新城社区", "盖家社区"],
    "孙耿街道": ["孙耿社区", "王家社区", "杨家社区"],
    "太平街道": ["太平社区", "王府社区", "徐家社区"],
}
DEMO_ADMIN = ("admin", "admin-demo-2026")
DEMO_WORKER = ("worker", "worker-demo-2026")
FAMILY = "张王李刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英"]
RESIDENTS = 48
HISTORY_DAYS = 28
RULES_SINCE = datetime(2024, 1, 1, tzinfo=TZ)


def demo_openid(index: int) -> str:
    return f"demo-resident-{index:03d}"


def _streets(session) -> list[Community]:
    communities = []
    for street_name, names in STREETS.items():
        street = Street(name=street_name, district="济南新旧动能转换起步区")
        session.add(street)
        for name in names:
            community = Community(street=street, name=name)
            session.add(community)
            communities.append(community)
    session.flush()
    return communities


def _staff(session, communities, hash_password: Callable[[str], str], now: datetime):
    session.add(Staff(username=DEMO_ADMIN[0], display_name="平台管理员", role="admin",
                      password_hash=hash_password(DEMO_ADMIN[1]), created_at=now))
    daqiao = [c for c in communities if c.street.name == "大桥街道"]
    session.add(Staff(username=DEMO_WORKER[0], display_name="大桥街道社区工作者", role="worker",
                      password_hash=hash_password(DEMO_WORKER[1]), created_at=now, communities=daqiao))
    session.flush()


def _residents(session, communities, rng: random.Random, joined: datetime, count: int) -> list[Resident]:
    residents = []
    for index in range(1, count + 1):
        name = rng.choice(FAMILY) + rng.choice(GIVEN)
        resident = Resident(openid=demo_openid(index), display_name=name, community=communities[index % len(communities)],
                            status="active", created_at=joined, updated_at=joined)
        session.add(resident)
        residents.append(resident)
    session.flush()
    for resident in residents:
        session.add(Account(resident_id=resident.id, balance=0, earned_total=0, grams_total=0, updated_at=joined))
    session.flush()
    return residents


def _day_plan(rng: random.Random, profile: str, commute: str | None = None):
    """(action_type, quantity, unit, source, evidence, hour) for one resident-day; ``commute`` fixes the mode."""
    plan = []
    if profile in ("commuter", "mixed") and rng.random() < 0.8:
        mode = commute or rng.choice(["metro_ride", "bus_ride", "bus_ride"])
        for hour in (8, 18) if rng.random() < 0.9 else (8, 12, 18, 20, 21):
            km = Decimal(str(round(rng.uniform(3, 18), 1)))
            plan.append((mode, km, "km", "partner_feed", "partner", hour))
    if profile in ("walker", "mixed") and rng.random() < 0.7:
        plan.append(("walk_steps", Decimal(rng.randrange(4000, 16000, 100)), "step", "self_report", "self", 21))
    if rng.random() < 0.25:
        plan.append(("bike_ride", Decimal(str(round(rng.uniform(1, 6), 1))), "km", "partner_feed", "partner", 12))
    if rng.random() < 0.3:
        plan.append(("kitchen_waste_sorting", Decimal(1), "drop", "station_device", "partner", 7))
    if rng.random() < 0.08:
        plan.append(("recyclables_dropoff", Decimal(str(round(rng.uniform(0.5, 6), 1))), "kg", "station_device",
                     "partner", 10))
    if rng.random() < 0.03:
        plan.append(("textiles_dropoff", Decimal(str(round(rng.uniform(1, 4), 1))), "kg", "worker", "worker", 15))
    return plan


PROFILES = ("commuter", "walker", "mixed")
# The README's tour explains a metro credit of demo-resident-001: that resident commutes by metro.
TOUR_COMMUTE = {1: "metro_ride"}


def _history(session, residents, rng: random.Random, today, days: int) -> int:
    """Each resident's days as planned, recorded in bulk through the credit pipeline (bulk.py)."""
    items = []
    for day_offset in range(days, 0, -1):
        day = today - timedelta(days=day_offset)
        for index, resident in enumerate(residents, start=1):
            profile, commute = PROFILES[(index - 1) % len(PROFILES)], TOUR_COMMUTE.get(index)
            for seq, (code, qty, unit, source, evidence, hour) in enumerate(_day_plan(rng, profile, commute)):
                at = datetime.combine(day, time(hour, rng.randrange(60)), tzinfo=TZ)
                items.append((ActionInput(resident_id=resident.id, action_type=code, quantity=qty, unit=unit,
                                          occurred_at=at, source=source, evidence=evidence, idem_scope="demo",
                                          external_id=f"{resident.id}-{day.isoformat()}-{seq}"),
                              at + timedelta(minutes=30)))
    return record_actions_in_bulk(session, items).recorded


def _campaign(session, communities, now: datetime):
    """A running 垃圾分类周 in two 大桥 communities: recyclables earn double, a daily check-in earns 20."""
    from carbon_credit.campaigns import advance_campaigns, create_campaign, publish_campaign

    start = start_of_local_day(local_date(now) - timedelta(days=3))
    targets = [c for c in communities if c.street.name == "大桥街道"][:2]
    values = dict(title="垃圾分类周", description="到社区回收站分类投放可回收物, 本周积分翻倍; 到场扫码签到再得 20 分。",
                  cover_text="可回收物积分×2", community_ids=[c.id for c in targets],
                  visible_from=start - timedelta(days=2), visible_until=start + timedelta(days=9),
                  active_from=start, active_until=start + timedelta(days=7),
                  multipliers={"recyclables_dropoff": "2"}, checkin_points=20, checkin_daily_limit=1,
                  checkin_qr="temporary")
    campaign = create_campaign(session, values, now)
    publish_campaign(session, campaign.id, now)
    advance_campaigns(session, now)
    return campaign


def _rewards(session, now: datetime):
    from carbon_credit.rewards.catalogue import create_reward

    until = now + timedelta(days=90)
    for kind, title, description, cost, stock in (
        ("transit_credit", "公交乘车券 5 元", "充入绑定的公交卡", 500, 200),
        ("coupon", "社区超市 10 元代金券", "社区合作超市使用", 1000, 100),
        ("donation", "认种一棵树", "以您的名义在黄河沿岸植树一棵", 3000, 50),
        ("goods", "绿萝盆栽", "到社区服务中心领取", 1500, 1),
    ):
        create_reward(session, now, actor_id=None, scope=None, kind=kind, title=title, description=description,
                      points_cost=cost, stock=stock, per_resident_limit=2, visible_from=now - timedelta(days=1),
                      visible_until=until, active=True)


def seed_demo(session, now: datetime, hash_password: Callable[[str], str], *, seed: int = 2026,
              residents: int = RESIDENTS, days: int = HISTORY_DAYS, cipher=None) -> dict:
    """Seed once; returns what was created (empty when the demo data is already there).

    ``cipher`` encrypts partner secrets (the API's); without it no partner is registered."""
    if session.execute(select(Street.id).limit(1)).first() is not None:
        return {}
    rng = random.Random(seed)
    today = local_date(now)
    install_default_rule_set(session, now, RULES_SINCE)
    communities = _streets(session)
    _staff(session, communities, hash_password, now)
    joined = start_of_local_day(today - timedelta(days=days + 3))
    people = _residents(session, communities, rng, joined, residents)
    _campaign(session, communities, now)
    _rewards(session, now)
    actions = _history(session, people, rng, today, days)
    operations = seed_operations(session, now, communities, people, rng, detailed_days=days, cipher=cipher)
    return {"streets": len(STREETS), "communities": len(communities), "residents": len(people), "actions": actions,
            **operations}
