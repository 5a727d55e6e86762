"""A realistic day of the transit operator's file, for the ingest benchmark.

Jinan's 2024 bulletin: buses 590 M and metro 116.4 M trips a year, so about
83.5 % bus and 16.5 % metro, plus shared bikes. Boarding times follow the
morning and evening commute peaks; distances are known for most trips. A
share of trips come from cards nobody has bound, ~1 % of rows repeat an
earlier trip id and ~0.5 % are bad rows of every kind the ingest rejects.
"""
from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta

from carbon_credit.timeutil import TZ

BIKE_SHARE = 0.04
METRO_SHARE = 116.4 / (590 + 116.4)
UNKNOWN_SHARE = 0.05
DUPLICATE_SHARE = 0.01
BAD_SHARE = 0.005
KNOWN_DISTANCE_SHARE = 0.85
DISTANCE = {"bus": (1.6, 0.6, 60), "metro": (2.2, 0.5, 90), "bike": (0.6, 0.6, 30)}  # lognormal mu, sigma, clip


def card_number(index: int) -> str:
    return f"3101{index:010d}"


def unknown_card_number(index: int) -> str:
    return f"3109{index:010d}"


def _board_minute(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.35:
        return rng.gauss(7.8 * 60, 50)
    if pick < 0.65:
        return rng.gauss(17.8 * 60, 60)
    return rng.uniform(5.5 * 60, 23 * 60)


def _mode(rng: random.Random) -> str:
    if rng.random() < BIKE_SHARE:
        return "bike"
    return "metro" if rng.random() < METRO_SHARE else "bus"


def _bad_row(rng: random.Random, row: list, day_start: datetime) -> list:
    kind = rng.randrange(7)
    if kind == 0:
        row[2] = "tram"
    elif kind == 1:
        row[5] = "-3.2"
    elif kind == 2:
        row[5] = "950"
    elif kind == 3:
        row[4] = (datetime.fromisoformat(row[3]) - timedelta(minutes=5)).isoformat(sep=" ")
    elif kind == 4:
        row[3] = (day_start + timedelta(days=400)).isoformat(sep=" ")
        row[4] = (day_start + timedelta(days=400, minutes=20)).isoformat(sep=" ")
    elif kind == 5:
        row[1] = ""
    else:
        row[3] = "yesterday morning"
    return row


def generate_rows(rows: int, residents: int, day: datetime, seed: int = 7):
    """Yield [trip_id, card_no, mode, board_time, alight_time, distance_km] rows."""
    rng = random.Random(seed)
    day_start = datetime.combine(day.date(), datetime.min.time())
    recent = []
    for n in range(rows):
        if recent and rng.random() < DUPLICATE_SHARE:
            yield list(rng.choice(recent))
            continue
        if rng.random() < UNKNOWN_SHARE:
            card = unknown_card_number(rng.randrange(residents // 4 + 1))
        else:
            card = card_number(rng.randrange(residents))
        mode = _mode(rng)
        minute = min(max(_board_minute(rng), 5 * 60), 23.5 * 60)
        board = day_start + timedelta(minutes=minute, seconds=rng.randrange(60))
        mu, sigma, clip = DISTANCE[mode]
        km = min(rng.lognormvariate(mu, sigma), clip)
        alight = board + timedelta(minutes=max(2.0, km * (2.2 if mode == "metro" else 3.5)))
        distance = f"{km:.1f}" if rng.random() < KNOWN_DISTANCE_SHARE and km >= 0.1 else ""
        row = [f"T{day:%Y%m%d}-{n:09d}", card, mode, board.isoformat(sep=" ", timespec="seconds"),
               alight.isoformat(sep=" ", timespec="seconds"), distance]
        if rng.random() < BAD_SHARE:
            row = _bad_row(rng, row, day_start)
        elif len(recent) < 1000:
            recent.append(row)
        elif rng.random() < 0.01:
            recent[rng.randrange(1000)] = row
        yield row


def write_trip_file(path: str, rows: int, residents: int, now: datetime, fmt: str = "csv") -> None:
    """Yesterday's trips (Shanghai calendar) as CSV or JSON Lines."""
    day = (now.astimezone(TZ) - timedelta(days=1)).replace(tzinfo=None)
    header = ["trip_id", "card_no", "mode", "board_time", "alight_time", "distance_km"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows(generate_rows(rows, residents, day))
        else:
            for row in generate_rows(rows, residents, day):
                handle.write(json.dumps(dict(zip(header, row)), ensure_ascii=False) + "\n")
