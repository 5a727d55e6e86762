"""Domain errors with a stable ``code``; every face maps them to its own words.

``status`` is the HTTP status the API answers with; the bot maps ``code`` to
Chinese text. Field-level detail goes in ``errors`` ({field: [messages]}).
"""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status = 400
    message = "The request could not be carried out."

    def __init__(self, message: str | None = None, *, errors: dict | None = None, code: str | None = None, **context):
        self.message = message or self.message
        self.errors = errors
        if code:
            self.code = code
        self.context = context
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422
    message = "The input is not valid."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "Not found."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    message = "You may not do this."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message = "This conflicts with the current state."


class UnknownActionType(InvalidInput):
    code = "unknown_action_type"
    message = "Unknown action type."


class QuantityOutOfRange(InvalidInput):
    code = "quantity_out_of_range"
    message = "The quantity is outside the accepted range."


class FutureTime(InvalidInput):
    code = "time_in_future"
    message = "The time lies in the future."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request."


class DuplicateAction(Conflict):
    code = "duplicate_action"
    message = "This action was already recorded."


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    message = "Not enough points."


class RuleSetFrozen(Conflict):
    code = "rule_set_frozen"
    message = "An activated rule set is never edited; make a new draft."


class RuleSetInvalid(InvalidInput):
    code = "rule_set_invalid"
    message = "The rule set is not valid."


class NoActiveRuleSet(Conflict):
    code = "no_active_rule_set"
    message = "No rule set is in force for that time."


class ResidentInactive(Conflict):
    code = "resident_inactive"
    message = "This resident account is not active."


class WeChatNotConfigured(DomainError):
    """WECHAT_APPID or WECHAT_SECRET is missing (or the demo's stand-ins are in use): nothing can be asked of WeChat."""

    code = "wechat_not_configured"
    status = 503
    message = "WECHAT_APPID and WECHAT_SECRET are not set on this server."


class WeChatApiError(DomainError):
    code = "wechat_api_error"
    status = 502
    message = "WeChat refused the request."
