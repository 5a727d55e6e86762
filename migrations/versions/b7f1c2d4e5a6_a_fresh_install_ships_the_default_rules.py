"""A fresh install ships the default action types and rule set version 1

Revision ID: b7f1c2d4e5a6
Revises: 3c8e51a0d7b2
Create Date: 2026-12-05 00:40:00.000000

METHODOLOGY.md: the platform ships with one active rule set. The rows are a
snapshot of carbon_credit/rules/defaults.py as of this revision, written with
lightweight tables naming only the columns that exist here, so later model
changes cannot break this step. An install that already has a rule set (the
demo seed, an earlier manual set-up) is left as it is; otherwise the missing
action types are added (any already there keep what admins set) and version 1.
"""
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7f1c2d4e5a6'
down_revision = '3c8e51a0d7b2'
branch_labels = None
depends_on = None

# Version 1 applies to actions since 2024-01-01 00:00 Shanghai time, like the demo's rules, so a
# partner's file of earlier days is credited after an install.
EFFECTIVE_FROM = datetime(2023, 12, 31, 16, 0, tzinfo=timezone.utc)
NOTE = "默认规则 (METHODOLOGY)"

ACTION_TYPES = [{'code': 'metro_ride',
  'name': '地铁出行',
  'unit': 'km',
  'units': ['km', 'trip'],
  'category': 'transit',
  'evidence': 'partner',
  'self_report': True,
  'description': 'A metro trip; per km when the distance is known.'},
 {'code': 'bus_ride',
  'name': '公交出行',
  'unit': 'km',
  'units': ['km', 'trip'],
  'category': 'transit',
  'evidence': 'partner',
  'self_report': True,
  'description': 'A bus trip; per km when the distance is known.'},
 {'code': 'bike_ride',
  'name': '共享单车骑行',
  'unit': 'km',
  'units': ['km', 'trip'],
  'category': 'transit',
  'evidence': 'partner',
  'self_report': True,
  'description': 'A shared-bike ride.'},
 {'code': 'walk_steps',
  'name': '步行',
  'unit': 'step',
  'units': ['step'],
  'category': 'walking',
  'evidence': 'self',
  'self_report': True,
  'description': 'Steps walked in a day.'},
 {'code': 'recyclables_dropoff',
  'name': '可回收物投递',
  'unit': 'kg',
  'units': ['kg'],
  'category': 'waste',
  'evidence': 'partner',
  'self_report': False,
  'description': 'Paper, plastic, metal or glass handed in at a station.'},
 {'code': 'kitchen_waste_sorting',
  'name': '厨余垃圾分类投放',
  'unit': 'drop',
  'units': ['drop'],
  'category': 'waste',
  'evidence': 'partner',
  'self_report': False,
  'description': 'A correct kitchen-waste drop at a smart bin.'},
 {'code': 'textiles_dropoff',
  'name': '旧衣物回收',
  'unit': 'kg',
  'units': ['kg'],
  'category': 'waste',
  'evidence': 'partner',
  'self_report': False,
  'description': 'Used clothing handed in for reuse.'},
 {'code': 'appliance_purchase',
  'name': '一级能效家电购买',
  'unit': 'item',
  'units': ['item'],
  'category': 'appliance',
  'evidence': 'self',
  'self_report': True,
  'needs_review': True,
  'description': 'A grade-1 energy-efficient appliance, credited after an invoice review.'},
 {'code': 'electricity_saved',
  'name': '节约用电',
  'unit': 'kWh',
  'units': ['kWh'],
  'category': 'energy',
  'evidence': 'partner',
  'self_report': False,
  'description': 'Electricity saved against a baseline, from a partner.'},
 {'code': 'campaign_checkin',
  'name': '活动签到',
  'unit': 'checkin',
  'units': ['checkin'],
  'category': 'community',
  'evidence': 'qr',
  'self_report': False,
  'description': 'A check-in at a campaign event; the campaign sets the points.'}]

RULES = [{'action_type': 'metro_ride',
  'method': 'per_unit',
  'factors': [{'unit': 'km',
               'grams_per_unit': '46.8',
               'max_quantity': '100',
               'source': '《深圳市低碳公共出行碳普惠方法学(试行)》 46.8 g CO2e/人公里'},
              {'unit': 'trip', 'grams_per_unit': '46', 'max_quantity': '1', 'source': '北京绿色生活季 减排手册 地铁每次最低 46 g'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '《深圳市低碳公共出行碳普惠方法学(试行)》 46.8 g CO2e/人公里; 北京绿色生活季 减排手册 地铁每次最低 46 g'},
 {'action_type': 'bus_ride',
  'method': 'per_unit',
  'factors': [{'unit': 'km',
               'grams_per_unit': '26.9',
               'max_quantity': '80',
               'source': '《深圳市低碳公共出行碳普惠方法学(试行)》 纯电动公交 26.9 g CO2e/人公里'},
              {'unit': 'trip',
               'grams_per_unit': '80',
               'max_quantity': '1',
               'source': '北京绿色生活季 减排手册 公交每次 80 g; 泸州绿芽积分同值'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '《深圳市低碳公共出行碳普惠方法学(试行)》 纯电动公交 26.9 g CO2e/人公里; 北京绿色生活季 减排手册 公交每次 80 g; 泸州绿芽积分同值'},
 {'action_type': 'bike_ride',
  'method': 'per_unit',
  'factors': [{'unit': 'km',
               'grams_per_unit': '40',
               'max_quantity': '40',
               'source': '武碳江湖 2023 骑行因子 40 g/km (2025 年为 93.3 g/km, 取保守值)'},
              {'unit': 'trip', 'grams_per_unit': '52', 'max_quantity': '1', 'source': '北京绿色生活季 减排手册 骑行每次 52 g'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '武碳江湖 2023 骑行因子 40 g/km (2025 年为 93.3 g/km, 取保守值); 北京绿色生活季 减排手册 骑行每次 52 g'},
 {'action_type': 'walk_steps',
  'method': 'per_unit',
  'factors': [{'unit': 'step',
               'grams_per_unit': '0.02',
               'max_quantity': '60000',
               'source': '碳碳星球(武汉, 2021) 每步 0.02 g'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '碳碳星球(武汉, 2021) 每步 0.02 g'},
 {'action_type': 'recyclables_dropoff',
  'method': 'points_only',
  'factors': [],
  'points_per_gram': '1',
  'points_per_unit': '10',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': '200',
  'params': {},
  'source': '无权威的每公斤减排因子: 每公斤 10 积分, 不计碳减排'},
 {'action_type': 'kitchen_waste_sorting',
  'method': 'points_only',
  'factors': [],
  'points_per_gram': '1',
  'points_per_unit': '1',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': '2',
  'params': {},
  'source': '济南 2019 智能厨余垃圾桶试点: 正确投放一次 1 积分; 青岛生命周期研究(环境科学 2023, 44(5)) 表明以焚烧为基准时厨余分类减排甚微, 不计碳减排'},
 {'action_type': 'textiles_dropoff',
  'method': 'per_unit',
  'factors': [{'unit': 'kg',
               'grams_per_unit': '1280',
               'max_quantity': '100',
               'source': '泸州绿芽积分(绿普惠方法): 旧衣物每公斤 1280 g'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '泸州绿芽积分(绿普惠方法): 旧衣物每公斤 1280 g'},
 {'action_type': 'appliance_purchase',
  'method': 'appliance_kwh',
  'factors': [],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 1.0},
  'max_quantity': '1',
  'params': {'baseline_kwh': {},
             'grid_g_per_kwh': '636.1',
             'years': 1,
             'fallback_points': 500,
             'grid_source': '生态环境部、国家统计局 2023年电力二氧化碳排放因子: 华北区域电网 0.6361 kgCO2/kWh'},
  'source': '中国能效标识方法: (基准年耗电 − 标识年耗电) × 电网因子 × 1 年; 基准值由管理员按 GB 能效标准设置, 未设置时每件 500 积分, 不计碳减排'},
 {'action_type': 'campaign_checkin',
  'method': 'points_only',
  'factors': [],
  'points_per_gram': '1',
  'points_per_unit': '1',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': '1',
  'params': {},
  'source': '活动签到: 每次 1 积分 × 活动设定的签到积分, 不计碳减排'},
 {'action_type': 'electricity_saved',
  'method': 'per_unit',
  'factors': [{'unit': 'kWh',
               'grams_per_unit': '636.1',
               'max_quantity': '10000',
               'source': '生态环境部、国家统计局 2023年电力二氧化碳排放因子: 华北区域电网 0.6361 kgCO2/kWh'}],
  'points_per_gram': '1',
  'points_per_unit': '0',
  'evidence_weights': {'partner': 1.0, 'worker': 1.0, 'qr': 1.0, 'self': 0.5},
  'max_quantity': None,
  'params': {},
  'source': '生态环境部、国家统计局 2023年电力二氧化碳排放因子: 华北区域电网 0.6361 kgCO2/kWh'}]

CAPS = [{'name': 'transit_rides_daily',
  'action_types': ['bus_ride', 'metro_ride', 'bike_ride'],
  'period': 'day',
  'metric': 'count',
  'limit': 4,
  'source': 'Bologna Bella Mossa (BetterPoints): 每日最多 4 次出行'},
 {'name': 'walking_daily',
  'action_types': ['walk_steps'],
  'period': 'day',
  'metric': 'grams',
  'limit': 296,
  'source': '蚂蚁森林 每日步行上限 296 g'},
 {'name': 'kitchen_waste_daily',
  'action_types': ['kitchen_waste_sorting'],
  'period': 'day',
  'metric': 'units',
  'limit': 2,
  'source': '每餐一次已足够, 防止刷分'},
 {'name': 'appliance_per_category_yearly',
  'action_types': ['appliance_purchase'],
  'period': 'year',
  'metric': 'count',
  'limit': 1,
  'per': 'category',
  'source': '每类家电每年 1 件'},
 {'name': 'points_daily',
  'action_types': None,
  'period': 'day',
  'metric': 'points',
  'limit': 2000,
  'source': '反欺诈兜底'}]

action_types = sa.table(
    "action_types",
    sa.column("code", sa.String), sa.column("name", sa.String), sa.column("unit", sa.String),
    sa.column("units", sa.JSON), sa.column("category", sa.String), sa.column("evidence", sa.String),
    sa.column("needs_review", sa.Boolean), sa.column("self_report", sa.Boolean), sa.column("active", sa.Boolean),
    sa.column("description", sa.Text),
)
rule_sets = sa.table(
    "rule_sets",
    sa.column("id", sa.Integer), sa.column("version", sa.Integer), sa.column("status", sa.String),
    sa.column("effective_from", sa.DateTime(timezone=True)), sa.column("note", sa.Text),
    sa.column("caps", sa.JSON), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("activated_at", sa.DateTime(timezone=True)),
)
rules = sa.table(
    "rules",
    sa.column("rule_set_id", sa.Integer), sa.column("action_type", sa.String), sa.column("method", sa.String),
    sa.column("factors", sa.JSON), sa.column("points_per_gram", sa.Numeric(10, 4)),
    sa.column("points_per_unit", sa.Numeric(10, 4)), sa.column("evidence_weights", sa.JSON),
    sa.column("min_quantity", sa.Numeric(14, 3)), sa.column("max_quantity", sa.Numeric(14, 3)),
    sa.column("params", sa.JSON), sa.column("source", sa.Text),
)


def _moment(bind, value: datetime):
    """UTC, naive on SQLite, as the models' UTCDateTime stores it."""
    return value.replace(tzinfo=None) if bind.dialect.name == "sqlite" else value


def _decimal(value):
    return None if value is None else Decimal(str(value))


def upgrade():
    bind = op.get_bind()
    if bind.execute(sa.select(rule_sets.c.id).limit(1)).first() is not None:
        return
    known = set(bind.execute(sa.select(action_types.c.code)).scalars())
    missing = [dict({"needs_review": False, "self_report": True, "active": True, "description": ""}, **spec)
               for spec in ACTION_TYPES if spec["code"] not in known]
    if missing:
        bind.execute(action_types.insert(), missing)
    now = _moment(bind, datetime.now(timezone.utc))
    bind.execute(rule_sets.insert().values(
        version=1, status="activated", effective_from=_moment(bind, EFFECTIVE_FROM), note=NOTE, caps=CAPS,
        created_at=now, activated_at=now))
    rule_set_id = bind.execute(sa.select(rule_sets.c.id).where(rule_sets.c.version == 1)).scalar_one()
    bind.execute(rules.insert(), [
        dict(rule_set_id=rule_set_id, action_type=spec["action_type"], method=spec["method"],
             factors=spec["factors"], points_per_gram=_decimal(spec["points_per_gram"]),
             points_per_unit=_decimal(spec["points_per_unit"]), evidence_weights=spec["evidence_weights"],
             min_quantity=_decimal(spec.get("min_quantity")), max_quantity=_decimal(spec.get("max_quantity")),
             params=spec["params"], source=spec["source"])
        for spec in RULES
    ])


def downgrade():
    # Version 1 may already have credited actions, which reference it; the rows stay and leave with
    # their tables when the schema itself is downgraded. Upgrading again finds them and adds nothing.
    pass
