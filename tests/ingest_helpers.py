"""Shared set-up for the transit ingest tests: rules, residents with cards, trip files."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import func, select

from carbon_credit.actions.card_trips import bind_card
from carbon_credit.ingest import IngestOptions, ingest_transit_file
from carbon_credit.models import Account, Credit
from carbon_credit.rules.install import install_default_rule_set
from carbon_credit.rules.versions import compiled_in_force
from carbon_credit.timeutil import TZ

from .factories import make_resident

KEY = "test-card-key"
NOW = datetime(2026, 6, 5, 14, 0, tzinfo=timezone.utc)  # 22:00 in Shanghai
DAY = datetime(2026, 6, 5, 0, 0, tzinfo=TZ)  # the Shanghai day whose trips the files carry
CLAIM_WINDOW = timedelta(days=7)  # the configuration's default
HEADER = ["trip_id", "card_no", "mode", "board_time", "alight_time", "distance_km"]


def setup_rules(session):
    install_default_rule_set(session, NOW - timedelta(days=60), NOW - timedelta(days=30))
    session.commit()


def resident_with_card(session, card: str):
    resident = make_resident(session)
    bind_card(session, resident.id, card, NOW - timedelta(days=20), key=KEY, claim_window=CLAIM_WINDOW)
    session.commit()
    return resident


def at(hour: int, minute: int = 0, day: datetime = DAY) -> str:
    return (day + timedelta(hours=hour, minutes=minute)).strftime("%Y-%m-%d %H:%M:%S")


def trip(trip_id, card, mode="bus", hour=8, minutes=20, distance="", day: datetime = DAY):
    return [trip_id, card, mode, at(hour, 0, day), at(hour, minutes, day), distance]


def write_file(tmp_path, rows, name="trips.csv", fmt="csv") -> str:
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            out = csv.writer(handle)
            out.writerow(HEADER)
            out.writerows(rows)
        else:
            for row in rows:
                handle.write(json.dumps(dict(zip(HEADER, row))) + "\n")
    return str(path)


def ingest(session, path, now=NOW, **options):
    return ingest_transit_file(session, path, now, key=KEY, options=IngestOptions(**options))


def expected_grams(session, action_type: str, unit: str, quantity) -> int:
    """What the rule in force gives one trip, from the rule set itself (not a copied number)."""
    factor = compiled_in_force(session, NOW).rules[action_type].factors[unit]
    return int((Decimal(str(quantity)) * factor.grams_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def credits_of(session, resident) -> list:
    session.rollback()
    return list(session.execute(select(Credit).where(Credit.resident_id == resident.id)
                                .order_by(Credit.id)).scalars())


def balance_of(session, resident) -> int:
    session.rollback()
    return session.execute(select(Account.balance).where(Account.resident_id == resident.id)).scalar_one()


def credit_count(session) -> int:
    session.rollback()
    return session.execute(select(func.count(Credit.id))).scalar_one()
