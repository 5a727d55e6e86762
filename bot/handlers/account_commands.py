"""余额, 明细 and 帮助: the resident's own account."""
from __future__ import annotations

from carbon_credit.ledger.points import BalanceSummary, balance_summary, read_resident_balance
from carbon_credit.ledger.statement import StatementLine, recent_changes
from carbon_credit.models import Credit
from carbon_credit.texts import format_carbon

from .. import texts
from .registry import command

HISTORY_SIZE = 5


def balance(push, _argument: str) -> str:
    return balance_text(balance_summary(push.session, push.resident().id, push.now))


def balance_at_once(push, _argument: str) -> str | None:
    """余额 from an active follower, read in one statement outside any transaction (what most taps are).

    Someone the platform does not know yet, a blocked or unfollowed account, or one without an
    account gets None and goes the ordinary way (``balance``), which registers or refuses them.
    """
    found = read_resident_balance(push.engine, push.now, openid=push.openid)
    if found is None or found.status != "active" or found.balance is None:
        return None
    return balance_text(found.balance)


def balance_text(summary: BalanceSummary) -> str:
    reply = texts.BALANCE.format(points=summary.points, carbon=format_carbon(summary.grams))
    if summary.expiring_soon:
        reply += texts.BALANCE_EXPIRING.format(expiring=summary.expiring_soon)
    if not summary.points and not summary.grams:
        reply += texts.BALANCE_EMPTY_HINT
    return reply


def history(push, _argument: str) -> str:
    lines = recent_changes(push.session, push.resident().id, HISTORY_SIZE)
    if not lines:
        return texts.HISTORY_EMPTY
    return "\n".join([texts.HISTORY_HEAD.format(count=len(lines))] + [_history_line(line) for line in lines])


def _history_line(line: StatementLine) -> str:
    day = texts.DAY_FORMAT.format(month=line.day.month, day=line.day.day)
    if line.kind == "credit":
        return _credit_line(line.credit, line.name, day)
    template = texts.HISTORY_ENTRY_LINES.get(line.kind, texts.HISTORY_ENTRY_OTHER)
    name = line.name or texts.HISTORY_NO_REASON
    return template.format(day=day, name=name, points=abs(line.points), signed=f"{line.points:+d}")


def _credit_line(credit: Credit, name: str, day: str) -> str:
    reason = cap_reason(credit.trace or {})
    if credit.status == "capped" or (reason and not credit.points):
        return texts.HISTORY_LINE_CAPPED.format(day=day, name=name, reason=reason or texts.CAP_REASON_OTHER)
    if reason:
        return texts.HISTORY_LINE_CLIPPED.format(day=day, name=name, points=credit.points, reason=reason)
    return texts.HISTORY_LINE.format(day=day, name=name, points=credit.points)


def cap_reason(trace: dict) -> str:
    """Why a credit got less than its full points: the first cap that bit, in words; '' if none."""
    for cap in trace.get("caps") or ():
        if isinstance(cap, dict) and cap.get("effect") in ("capped", "clipped"):
            return texts.CAP_REASONS.get(cap.get("period"), texts.CAP_REASON_OTHER)
    return ""


def help_(push, _argument: str) -> str:
    return texts.HELP


COMMANDS = (
    command("balance", balance, click="BALANCE", read=balance_at_once),
    command("history", history, click="HISTORY"),
    command("help", help_, click="HELP"),
)
