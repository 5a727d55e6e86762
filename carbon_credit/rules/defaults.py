"""The shipped action types and the default rule set, with each value's source.

Principle (T/ACEF 2023 group standards for citizens' low-carbon behaviour):
reduction = baseline − project emissions, chosen conservatively. Where no
authoritative factor exists the behaviour earns points only and claims 0 g.
"""
from __future__ import annotations

SHENZHEN = "《深圳市低碳公共出行碳普惠方法学(试行)》"
BEIJING = "北京绿色生活季 减排手册"
GRID_SOURCE = "生态环境部、国家统计局 2023年电力二氧化碳排放因子: 华北区域电网 0.6361 kgCO2/kWh"

ACTION_TYPES = [
    dict(code="metro_ride", name="地铁出行", unit="km", units=["km", "trip"], category="transit",
         evidence="partner", self_report=True, description="A metro trip; per km when the distance is known."),
    dict(code="bus_ride", name="公交出行", unit="km", units=["km", "trip"], category="transit",
         evidence="partner", self_report=True, description="A bus trip; per km when the distance is known."),
    dict(code="bike_ride", name="共享单车骑行", unit="km", units=["km", "trip"], category="transit",
         evidence="partner", self_report=True, description="A shared-bike ride."),
    dict(code="walk_steps", name="步行", unit="step", units=["step"], category="walking",
         evidence="self", self_report=True, description="Steps walked in a day."),
    dict(code="recyclables_dropoff", name="可回收物投递", unit="kg", units=["kg"], category="waste",
         evidence="partner", self_report=False, description="Paper, plastic, metal or glass handed in at a station."),
    dict(code="kitchen_waste_sorting", name="厨余垃圾分类投放", unit="drop", units=["drop"], category="waste",
         evidence="partner", self_report=False, description="A correct kitchen-waste drop at a smart bin."),
    dict(code="textiles_dropoff", name="旧衣物回收", unit="kg", units=["kg"], category="waste",
         evidence="partner", self_report=False, description="Used clothing handed in for reuse."),
    dict(code="appliance_purchase", name="一级能效家电购买", unit="item", units=["item"], category="appliance",
         evidence="self", self_report=True, needs_review=True,
         description="A grade-1 energy-efficient appliance, credited after an invoice review."),
    dict(code="electricity_saved", name="节约用电", unit="kWh", units=["kWh"], category="energy",
         evidence="partner", self_report=False, description="Electricity saved against a baseline, from a partner."),
    dict(code="campaign_checkin", name="活动签到", unit="checkin", units=["checkin"], category="community",
         evidence="qr", self_report=False, description="A check-in at a campaign event; the campaign sets the points."),
]

WEIGHTS = {"partner": 1.0, "worker": 1.0, "qr": 1.0, "self": 0.5}


def _per_unit(code, factors, max_quantity=None):
    return dict(action_type=code, method="per_unit", factors=factors, points_per_gram="1",
                points_per_unit="0", evidence_weights=WEIGHTS, max_quantity=max_quantity, params={},
                source="; ".join(dict.fromkeys(f["source"] for f in factors)))


def _points_only(code, points, source, max_quantity):
    return dict(action_type=code, method="points_only", factors=[], points_per_gram="1",
                points_per_unit=str(points), evidence_weights=WEIGHTS, max_quantity=max_quantity,
                params={}, source=source)


DEFAULT_RULES = [
    _per_unit("metro_ride", [
        dict(unit="km", grams_per_unit="46.8", max_quantity="100", source=SHENZHEN + " 46.8 g CO2e/人公里"),
        dict(unit="trip", grams_per_unit="46", max_quantity="1", source=BEIJING + " 地铁每次最低 46 g"),
    ]),
    _per_unit("bus_ride", [
        dict(unit="km", grams_per_unit="26.9", max_quantity="80", source=SHENZHEN + " 纯电动公交 26.9 g CO2e/人公里"),
        dict(unit="trip", grams_per_unit="80", max_quantity="1", source=BEIJING + " 公交每次 80 g; 泸州绿芽积分同值"),
    ]),
    _per_unit("bike_ride", [
        dict(unit="km", grams_per_unit="40", max_quantity="40",
             source="武碳江湖 2023 骑行因子 40 g/km (2025 年为 93.3 g/km, 取保守值)"),
        dict(unit="trip", grams_per_unit="52", max_quantity="1", source=BEIJING + " 骑行每次 52 g"),
    ]),
    _per_unit("walk_steps", [
        dict(unit="step", grams_per_unit="0.02", max_quantity="60000", source="碳碳星球(武汉, 2021) 每步 0.02 g"),
    ]),
    _points_only("recyclables_dropoff", 10, "无权威的每公斤减排因子: 每公斤 10 积分, 不计碳减排", "200"),
    _points_only("kitchen_waste_sorting", 1,
                 "济南 2019 智能厨余垃圾桶试点: 正确投放一次 1 积分; 青岛生命周期研究(环境科学 2023, 44(5)) "
                 "表明以焚烧为基准时厨余分类减排甚微, 不计碳减排", "2"),
    _per_unit("textiles_dropoff", [
        dict(unit="kg", grams_per_unit="1280", max_quantity="100", source="泸州绿芽积分(绿普惠方法): 旧衣物每公斤 1280 g"),
    ]),
    dict(action_type="appliance_purchase", method="appliance_kwh", factors=[], points_per_gram="1",
         points_per_unit="0", evidence_weights={**WEIGHTS, "self": 1.0}, max_quantity="1",
         params={"baseline_kwh": {}, "grid_g_per_kwh": "636.1", "years": 1, "fallback_points": 500,
                 "grid_source": GRID_SOURCE},
         source="中国能效标识方法: (基准年耗电 − 标识年耗电) × 电网因子 × 1 年; 基准值由管理员按 GB 能效标准设置, "
                "未设置时每件 500 积分, 不计碳减排"),
    _points_only("campaign_checkin", 1, "活动签到: 每次 1 积分 × 活动设定的签到积分, 不计碳减排", "1"),
    _per_unit("electricity_saved", [
        dict(unit="kWh", grams_per_unit="636.1", max_quantity="10000", source=GRID_SOURCE),
    ]),
]

DEFAULT_CAPS = [
    dict(name="transit_rides_daily", action_types=["bus_ride", "metro_ride", "bike_ride"], period="day",
         metric="count", limit=4, source="Bologna Bella Mossa (BetterPoints): 每日最多 4 次出行"),
    dict(name="walking_daily", action_types=["walk_steps"], period="day", metric="grams", limit=296,
         source="蚂蚁森林 每日步行上限 296 g"),
    dict(name="kitchen_waste_daily", action_types=["kitchen_waste_sorting"], period="day", metric="units",
         limit=2, source="每餐一次已足够, 防止刷分"),
    dict(name="appliance_per_category_yearly", action_types=["appliance_purchase"], period="year",
         metric="count", limit=1, per="category", source="每类家电每年 1 件"),
    dict(name="points_daily", action_types=None, period="day", metric="points", limit=2000, source="反欺诈兜底"),
]
