"""Factories that build valid data with as little typing as a test needs.

They flush, never commit: a test commits when the app (another connection)
has to see the data. ``now`` defaults to a fixed instant so tests are repeatable.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

from werkzeug.security import generate_password_hash

from carbon_credit.models import Community, Staff, Street
from carbon_credit.residents.accounts import register_resident

FIXED_NOW = datetime(2026, 6, 5, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, 全国低碳日 season
STAFF_PASSWORD = "correct horse battery staple"
# Production hashes use werkzeug's default (scrypt); a cheap method keeps the suite fast.
FAST_HASH_METHOD = "pbkdf2:sha256:1000"
_seq = itertools.count(1)


def fast_hash(password: str) -> str:
    return generate_password_hash(password, method=FAST_HASH_METHOD)


def make_street(session, name: str | None = None, district: str = "历城区") -> Street:
    street = Street(name=name or f"测试街道{next(_seq)}", district=district)
    session.add(street)
    session.flush()
    return street


def make_community(session, name: str | None = None, street: Street | None = None) -> Community:
    community = Community(name=name or f"测试社区{next(_seq)}", street=street or make_street(session))
    session.add(community)
    session.flush()
    return community


def make_staff(
    session,
    username: str,
    role: str,
    password: str = STAFF_PASSWORD,
    communities=(),
    *,
    active: bool = True,
    now: datetime = FIXED_NOW,
) -> Staff:
    staff = Staff(
        username=username,
        display_name=username,
        password_hash=fast_hash(password),
        role=role,
        active=active,
        created_at=now,
        communities=list(communities),
    )
    session.add(staff)
    session.flush()
    return staff


def make_resident(session, openid: str | None = None, community: Community | None = None, *, now=FIXED_NOW, **kw):
    """A resident with an empty account, registered the way WeChat sign-in registers one."""
    return register_resident(
        session,
        openid or f"o-test-openid-{next(_seq)}",
        now,
        community_id=community.id if community is not None else None,
        **kw,
    )


def auth_header(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str = STAFF_PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]
