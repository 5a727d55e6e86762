"""The front page of the API documentation: what the platform does and how every number arises."""
from __future__ import annotations

API_DESCRIPTION = """\
Residents earn carbon points (碳积分) for green actions: metro, bus and bike rides, walking, sorting
waste, handing in recyclables and used clothing, buying grade-1 appliances. Each action is converted
to grams CO2e and points by a versioned rule set; points live in an append-only ledger.

## Signing in
Staff (community workers, admins): `POST /api/v1/auth/token` with username and password. Residents:
`POST /api/v1/auth/wechat` with the WeChat web-OAuth code (operators can issue a resident token with
`flask residents token OPENID`). Send the token as `Authorization: Bearer …` (the **Authorize** button).
Sign-in attempts are limited per username and per address (429 `too_many_sign_in_attempts` with
`Retry-After`). `POST /api/v1/auth/logout`, a password change or reset, disabling a staff member and
blocking a resident revoke the account's earlier tokens at once (401 `token_revoked`,
`resident_blocked`).

## How a credit is computed
Every action is evaluated by the rule-set version in force at the moment the action happened, in this
fixed order:

1. **Method** gives the base carbon: `per_unit` = quantity × the factor of its unit (g CO2e per km when
   the trip has a distance, per trip otherwise); `points_only` = fixed points per unit and 0 g claimed
   (no authoritative factor exists); `appliance_kwh` = (baseline kWh/yr − label kWh/yr) × grid factor ×
   years, or fixed points until the category's baseline is set.
2. **Evidence weight** scales carbon and fixed points: partner data, worker verification and QR
   check-ins 1.0; **self-declared 0.5** by default.
3. **Carbon caps** (count, units or grams) may cap the action or clip it to what is left.
4. **Points** = grams × points per gram (**1 point per gram by default**) + fixed points.
5. **Campaign adjustments**: multipliers multiply, then one-off bonuses add.
6. **Points caps** (per type and the total daily points cap) may clip the points.
7. **Rounding**: grams and points are **rounded down to whole numbers** (never over-claimed).

Caps count per resident per day, week (Monday first), month or year of the **Asia/Shanghai calendar**.
An action over a cap is still recorded, with status **capped**, 0 g and 0 points, and its trace names
the cap. Every credit stores its trace (rule version, factor and its source citation, weight, caps
checked, adjustments), so `GET /api/v1/me/credits/{id}/explanation` explains it step by step with the
rules of its time: activating a new version never changes a past credit.

## Rule-set versions
draft → (validate, preview) → activate from a date → active → superseded. An activated version is
never edited; a change is a new draft (`409 rule_set_frozen` otherwise).

## Errors
Every error has the same body: `{"code", "message", "errors"?}`. `code` is stable (switch on it);
`errors` holds field-level messages for invalid input (`422 validation_error`). A refused request
writes nothing.

## Paging
List endpoints take `page` (from 1) and `page_size` (default 20, at most 100) and return the page's
items; the `X-Pagination` header carries `{"total", "total_pages", "first_page", "last_page", "page",
"previous_page"?, "next_page"?}`.

## Partner push API
Partners sign every request to `/api/v1/partner/…` with four headers: `X-Partner-Key` (key id),
`X-Timestamp` (unix seconds, ±300 s), `X-Nonce` (8–64 characters, once per partner) and
`X-Signature` = hex HMAC-SHA256(secret, METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + NONCE +
"\\n" + hex sha256(body)). Refusals are `401` with code `stale_timestamp`, `nonce_reused`,
`bad_signature`, `unknown_partner_key`, `bad_nonce` or `signature_missing`. A batch holds at most 500
events, each idempotent per (partner, event_id) and answered on its own; see the README's partner
section for a worked example.
"""
