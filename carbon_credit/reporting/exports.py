"""Figures and leaderboards as tables for the street office: CSV (UTF-8 with BOM) and XLSX.

Headers are Chinese; the CSV starts with a byte-order mark so Excel opens it
in UTF-8 rather than the local code page.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook

from carbon_credit.timeutil import TZ

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CATEGORY_NAMES = {"transit": "绿色出行", "walking": "步行", "waste": "垃圾分类与回收", "appliance": "节能家电",
                  "energy": "节约用电", "community": "社区活动"}
TOTALS = ["参与人数", "行动次数", "减排量(克CO2e)", "积分"]


def _category(name: str) -> str:
    return CATEGORY_NAMES.get(name, name)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def community_table(figures: dict) -> tuple[list, list]:
    categories = [c["category"] for c in figures["by_category"]]
    headers = ["日期" if figures["group"] == "day" else "周", *TOTALS,
               *(f"{_category(c)}减排量(克)" for c in categories)]
    rows = [[p["period"], p["participants"], p["actions"], p["grams"], p["points"],
             *(p["grams_by_category"].get(c, 0) for c in categories)] for p in figures["series"]]
    rows.append(["合计", figures["participants"], figures["actions"], figures["grams"], figures["points"],
                 *(c["grams"] for c in figures["by_category"])])
    return headers, rows


def campaign_table(figures: dict) -> tuple[list, list]:
    headers = ["社区", *TOTALS]
    rows = [[c["community"], c["participants"], c["actions"], c["grams"], c["points"]] for c in figures["by_community"]]
    rows.append(["合计", figures["participants"], figures["actions"], figures["grams"], figures["points"]])
    return headers, rows


def resident_board_table(rows) -> tuple[list, list]:
    headers = ["排名", "居民", "积分", "减排量(克CO2e)", "达成时间"]
    return headers, [[r.rank, r.name, r.points, r.grams, _local(r.reached_at)] for r in rows]


def street_board_table(rows) -> tuple[list, list]:
    headers = ["排名", "社区", "参与人数", "积分", "减排量(克CO2e)", "人均减排量(克CO2e)"]
    return headers, [[r.rank, r.name, r.participants, r.points, r.grams, r.grams_per_participant] for r in rows]


def to_csv(headers: list, rows: list) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheet_title: str, headers: list, rows: list) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(fmt: str, sheet_title: str, table: tuple[list, list]) -> bytes:
    headers, rows = table
    return to_csv(headers, rows) if fmt == "csv" else to_xlsx(sheet_title, headers, rows)
