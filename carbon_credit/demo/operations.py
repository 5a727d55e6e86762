"""The demo's operations content: stations, a partner, claims waiting for review with their photos,
redemptions and older months of history, all through the production services.

What the demo would send to WeChat (the menu, QR codes, the campaign's mass
send, template messages) is not made here: the demo command runs the WeChat
face's real flows through its offline client once the data is seeded
(api/cli_demo.py), and the console's 发送记录 lists what they recorded.
"""
from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, time, timedelta
from decimal import Decimal

from carbon_credit.actions.appliances import ApplianceSubmission, submit_appliance_claim
from carbon_credit.actions.bulk import record_actions_in_bulk
from carbon_credit.actions.record import ActionInput
from carbon_credit.budgets.admin import create_budget
from carbon_credit.budgets.limits import month_of
from carbon_credit.errors import DomainError
from carbon_credit.org.stations import create_station
from carbon_credit.partners.keys import create_partner
from carbon_credit.rewards.catalogue import list_rewards
from carbon_credit.rewards.redemptions import redeem_reward
from carbon_credit.timeutil import TZ, local_date

OLDER_DAYS = 120  # months of thinner history before the detailed weeks, so trends show
CLAIMS = (("refrigerator", "海尔", "BCD-470WDPG", "298"), ("air_conditioner", "格力", "KFR-35GW", "590"),
          ("washing_machine", "小天鹅", "TG100V88", "72"))


def invoice_png(seed: int, width: int = 360, height: int = 240) -> bytes:
    """A small invoice-like PNG (paper with ruled lines and a red seal), made here so the demo needs no files."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            seal = (x - width + 70) ** 2 + (y - height + 60) ** 2 < 30 ** 2
            ruled = y > 40 and y % 24 == 0 and 20 < x < width - 20
            head = y < 30
            colour = (200, 40, 40) if seal else (60, 90, 160) if ruled or head else (250, 248, 240 - seed % 20)
            row += bytes(colour)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def _stations(session, communities, now: datetime):
    dq = [c for c in communities if c.street.name == "大桥街道"]
    made = []
    for index, community in enumerate(dq):
        made.append(create_station(session, {"name": f"{community.name}回收站", "kind": "recycling_station",
                                             "community_id": community.id, "address": f"{community.name}服务中心东侧",
                                             "active": True}, now))
        if index == 0:
            made.append(create_station(session, {"name": f"{community.name}智能垃圾桶", "kind": "smart_bin",
                                                 "community_id": community.id, "address": "3 号楼北", "active": True},
                                       now))
    return made


def _partner(session, stations, now: datetime, cipher) -> None:
    if cipher is None:
        return
    create_partner(session, {"name": "济阳公交集团", "kind": "transit_operator",
                             "action_types": ["bus_ride", "metro_ride"], "active": True}, now, cipher=cipher)
    bins = [s.id for s in stations if s.kind == "smart_bin"]
    create_partner(session, {"name": "绿桶智能回收", "kind": "smart_bin", "station_ids": bins,
                             "action_types": ["kitchen_waste_sorting", "recyclables_dropoff"], "active": True},
                   now, cipher=cipher)


def _claims(session, residents, now: datetime) -> int:
    """Pending claims of 大桥 residents, so the demo worker (大桥街道) has them to review too."""
    daqiao = [r for r in residents if r.community.street.name == "大桥街道"] or residents
    made = 0
    for index, (category, brand, model, kwh) in enumerate(CLAIMS):
        resident = daqiao[index % len(daqiao)]
        sub = ApplianceSubmission(category=category, energy_grade=1, brand=brand, model=model,
                                  label_kwh=Decimal(kwh), invoice_no=f"0370019001{index:02d}-2026{index:04d}",
                                  invoice_date=local_date(now) - timedelta(days=2 + index), photo=invoice_png(index))
        try:
            submit_appliance_claim(session, resident.id, sub, now - timedelta(hours=3 + index))
            made += 1
        except DomainError:
            continue
    return made


def _older_history(session, residents, rng: random.Random, today, after_days: int) -> int:
    """One action every few days per resident, for the months before the detailed weeks (recorded in bulk)."""
    items = []
    plans = (("metro_ride", "12", "km", "partner_feed", "partner"), ("bus_ride", "6", "km", "partner_feed", "partner"),
             ("recyclables_dropoff", "2.5", "kg", "station", "partner"), ("walk_steps", "9000", "step", "self", "self"))
    for offset in range(after_days + OLDER_DAYS, after_days, -1):
        day = today - timedelta(days=offset)
        for resident in residents:
            if rng.random() > 0.25 + 0.2 * (OLDER_DAYS + after_days - offset) / OLDER_DAYS:  # growing take-up
                continue
            code, qty, unit, source, evidence = plans[rng.randrange(len(plans))]
            at = datetime.combine(day, time(rng.randrange(7, 20), rng.randrange(60)), tzinfo=TZ)
            items.append((ActionInput(resident_id=resident.id, action_type=code, quantity=Decimal(qty), unit=unit,
                                      occurred_at=at, source=source, evidence=evidence, idem_scope="demo",
                                      external_id=f"{resident.id}-old-{day.isoformat()}"),
                          at + timedelta(minutes=30)))
    return record_actions_in_bulk(session, items).recorded


def _redemptions(session, residents, now: datetime) -> int:
    rewards = sorted(list_rewards(session, None), key=lambda r: r.points_cost)
    made = 0
    for index, resident in enumerate(residents[:8]):
        try:
            redeem_reward(session, resident.id, rewards[index % 2].id, now - timedelta(hours=index),
                          idempotency_key=f"demo-redeem-{resident.id}")
            made += 1
        except DomainError:
            continue
    return made


def _budget(session, now: datetime) -> None:
    """This month's points budget for every action type, so the dashboard shows its burn."""
    create_budget(session, now, actor_id=None, month=month_of(now), points_limit=1_000_000, mode="scale",
                  scale_factor=Decimal("0.5"))


def seed_operations(session, now: datetime, communities, residents, rng: random.Random, *,
                    detailed_days: int, cipher=None) -> dict:
    stations = _stations(session, communities, now)
    _partner(session, stations, now, cipher)
    older = _older_history(session, residents, rng, local_date(now), detailed_days)
    claims = _claims(session, residents, now)
    redemptions = _redemptions(session, residents, now)
    _budget(session, now)
    return {"stations": len(stations), "older_actions": older, "claims": claims, "redemptions": redemptions}
