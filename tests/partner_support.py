"""Shared set-up for the partner, station and appliance tests: rules, partners, signed requests."""
from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone

from carbon_credit.partners.signing import sign
from carbon_credit.rules.install import install_default_rule_set

from .factories import FIXED_NOW, auth_header

RULES_FROM = datetime(2025, 1, 1, tzinfo=timezone.utc)
EVENTS_PATH = "/api/v1/partner/events"


def install_rules(session, now: datetime = FIXED_NOW):
    """The default rule set, in force since 2025."""
    rule_set = install_default_rule_set(session, now, RULES_FROM)
    session.commit()
    return rule_set


def register_partner(client, admin_token, **overrides) -> dict:
    body = {"name": f"partner-{secrets.token_hex(3)}", "kind": "smart_bin",
            "action_types": ["recyclables_dropoff", "kitchen_waste_sorting", "textiles_dropoff"], **overrides}
    response = client.post("/api/v1/partners", json=body, headers=auth_header(admin_token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def signed_headers(key_id: str, secret: str, method: str, path: str, body: bytes, *, timestamp=None,
                   nonce=None) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(12)
    return {"X-Partner-Key": key_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Signature": sign(secret, method, path, timestamp, nonce, body), "Content-Type": "application/json"}


def push_events(client, partner: dict, events: list, **kwargs):
    body = json.dumps({"events": events}).encode()
    headers = signed_headers(partner["key_id"], partner["secret"], "POST", EVENTS_PATH, body, **kwargs)
    return client.post(EVENTS_PATH, data=body, headers=headers)
