"""Recording many green actions at once, in the order given: a backfill, or the demo's months of history.

``record_actions_in_bulk`` gives what ``actions.record_action`` gives when it is
called for the same inputs one after another, with a few statements per batch
instead of a dozen per action:

* each input is checked as ``record_action`` checks it (resident active, type and
  unit, quantity and its range, not in the future, a rule in force); a refused
  input is counted and left out, as the callers of ``record_action`` skip a
  ``DomainError``; a key already recorded (or repeated in the input) is a duplicate;
* the credit pipeline runs in its batch form (``pipeline.py``): campaign bonuses
  decided by ``BatchCampaigns``, the one rules engine, budgets counted by the
  batch budget step; a first-action bonus the engine did not pay is given back;
* caps start from the committed credits of the batch's residents and days, and
  count the batch's own credits in the order given, as the database would
  (``rules.usage.MemoryUsage``, the bulk ingest's keys and sums);
* actions and credits are then written set-based, each row with its own recorded
  time; ledger lots and balances are the ledger's own set-based writes
  (``ledger.add_earn_lots``, ``move_balances``) through a ``db.SessionWriter``,
  each earn adding to the account's lot of the expiry its credit's recorded time gives.

A batch never spans two months (budgets are monthly). Accounts are locked in id
order before a batch is credited, as the single-action path locks them. Flushes,
never commits. Campaign check-ins are not bulk actions: they go through
``campaigns.check_in``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Optional

from sqlalchemy import func, insert, select

from carbon_credit.actions.record import CLOCK_SKEW, ActionInput
from carbon_credit.budgets.limits import month_of
from carbon_credit.campaigns.validation import CHECKIN_TYPE
from carbon_credit.db import SessionWriter
from carbon_credit.ledger.points import BalanceMove, EarnLot, add_earn_lots, earns, move_balances
from carbon_credit.models import Account, ActionType, Credit, GreenAction, Resident, RuleSet, credit_days, idem_keys_in
from carbon_credit.pipeline import CreditPipeline, credit_pipeline
from carbon_credit.rules import ActionFacts, Usage, compile_rule_set, evaluate
from carbon_credit.rules.usage import UNITS_STEP, CommittedUsage, MemoryUsage, usage_window
from carbon_credit.timeutil import local_date

BATCH = 5_000
CHUNK = 500  # keys per IN (...) look-up


@dataclass
class BulkResult:
    """What happened to the inputs: recorded (credited, capped or pending review), duplicates, refused."""

    recorded: int = 0
    credited: int = 0
    capped: int = 0
    pending_review: int = 0
    duplicates: int = 0
    refused: int = 0
    points: int = 0
    grams: int = 0
    refusals: dict = field(default_factory=dict)  # reason -> count


@dataclass(slots=True)
class _Row:
    inp: ActionInput
    now: datetime
    action_type: ActionType
    compiled: object
    status: str = ""
    outcome: object = None
    facts: object = None


class _RuleSets:
    """The activated versions, compiled once: the one in force at a moment, as ``rule_set_in_force`` picks it."""

    def __init__(self, session):
        rows = session.execute(select(RuleSet).where(RuleSet.status == "activated")
                               .order_by(RuleSet.effective_from.desc(), RuleSet.version.desc())).scalars().all()
        cache = session.info.setdefault("compiled_rule_sets", {})
        self.versions = [(rs.effective_from, cache.get(rs.id) or cache.setdefault(rs.id, compile_rule_set(rs)))
                         for rs in rows]

    def at(self, moment: datetime):
        return next((compiled for since, compiled in self.versions if since <= moment), None)


def _quantity(value) -> Optional[Decimal]:
    try:
        quantity = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return quantity if quantity.is_finite() and quantity > 0 else None


def _refusal(inp: ActionInput, now: datetime, types: dict, rule_sets: _RuleSets) -> tuple[str, object]:
    """Why ``record_action`` would refuse this input ('' when it would not), and the rules in force."""
    kind = types.get(inp.action_type)
    if kind is None or not kind.active:
        return "unknown_action_type", None
    if inp.unit not in (kind.units or [kind.unit]):
        return "unit_not_supported", None
    quantity = _quantity(inp.quantity)
    if quantity is None:
        return "quantity_out_of_range", None
    inp.quantity = quantity
    if inp.occurred_at > now + CLOCK_SKEW:
        return "future_time", None
    compiled = rule_sets.at(inp.occurred_at)
    rule = compiled.rules.get(inp.action_type) if compiled is not None else None
    if rule is None:
        return "no_rule_in_force", None
    high = rule.max_for(inp.unit)
    if (high is not None and quantity > high) or (rule.min_quantity and quantity < rule.min_quantity):
        return "quantity_out_of_range", None
    return "", compiled


def _batches(items: list, size: int):
    """Runs of at most ``size`` inputs recorded in one month (a budget is a month's)."""
    batch, month = [], None
    for inp, now in items:
        this = month_of(now)
        if batch and (this != month or len(batch) >= size):
            yield batch
            batch = []
        batch.append((inp, now))
        month = this
    if batch:
        yield batch


def record_actions_in_bulk(session, items: Iterable[tuple[ActionInput, datetime]], *, batch_size: int = BATCH,
                           pipeline: Optional[CreditPipeline] = None) -> BulkResult:
    """Record ``(input, recorded at)`` pairs in order and credit them; see the module's description."""
    pipeline = credit_pipeline() if pipeline is None else pipeline
    items = list(items)
    if any(inp.action_type == CHECKIN_TYPE for inp, _ in items):
        raise ValueError("campaign check-ins are recorded by campaigns.check_in, one at a time")
    result = BulkResult()
    types = {t.code: t for t in session.scalars(select(ActionType))}
    rule_sets = _RuleSets(session)
    for batch in _batches(items, batch_size):
        _Batch(session, pipeline, types, rule_sets, result).run(batch)
    return result


class _Batch:
    def __init__(self, session, pipeline, types, rule_sets, result: BulkResult):
        self.session, self.pipeline, self.types, self.rule_sets, self.result = (session, pipeline, types, rule_sets,
                                                                                result)
        self.usage = MemoryUsage()

    # -- checking -------------------------------------------------------------------------------------------

    def _refuse(self, reason: str) -> None:
        self.result.refused += 1
        self.result.refusals[reason] = self.result.refusals.get(reason, 0) + 1

    def _known_keys(self, keys: list) -> set:
        known, dialect = set(), self.session.get_bind().dialect.name
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            known.update(self.session.execute(select(GreenAction.idem_scope, GreenAction.external_id).where(
                idem_keys_in(dialect, chunk))).all())
        return known

    def _accounts(self, resident_ids: list) -> dict:
        """resident -> (status, account id), the accounts locked in id order."""
        found = {}
        for start in range(0, len(resident_ids), CHUNK):
            chunk = resident_ids[start:start + CHUNK]
            found.update({rid: (status, None) for rid, status in self.session.execute(
                select(Resident.id, Resident.status).where(Resident.id.in_(chunk)))})
            for account_id, rid in self.session.execute(
                    select(Account.id, Account.resident_id).where(Account.resident_id.in_(chunk))
                    .order_by(Account.id).with_for_update()):
                found[rid] = (found[rid][0], account_id)
        return found

    def _checked(self, batch: list) -> list[_Row]:
        owners = self._accounts(sorted({inp.resident_id for inp, _ in batch}))
        known = self._known_keys(list({(inp.idem_scope, inp.external_id) for inp, _ in batch}))
        rows = []
        for inp, now in batch:
            status, account_id = owners.get(inp.resident_id, (None, None))
            if status is None or account_id is None:
                self._refuse("resident_not_found")
                continue
            if status != "active":
                self._refuse("resident_inactive")
                continue
            reason, compiled = _refusal(inp, now, self.types, self.rule_sets)
            if reason:
                self._refuse(reason)
                continue
            key = (inp.idem_scope, inp.external_id)
            if key in known:
                self.result.duplicates += 1
                continue
            known.add(key)
            kind = self.types[inp.action_type]
            row = _Row(inp, now, kind, compiled)
            row.status = "pending_review" if kind.needs_review and inp.evidence != "worker" else "credited"
            rows.append(row)
        self.account_of = {rid: account for rid, (_, account) in owners.items()}
        return rows

    # -- crediting ------------------------------------------------------------------------------------------

    def _seed_usage(self, rows: list) -> None:
        """Cap usage of the batch's residents from the committed credits, as ``actions.db_usage`` reads it."""
        caps = {cap.name: cap for row in rows for cap in row.compiled.caps_for(row.inp.action_type)}
        if not rows or not caps:
            return
        low, high = usage_window({local_date(r.inp.occurred_at) for r in rows}, caps.values())
        residents = sorted({r.inp.resident_id for r in rows})
        for start in range(0, len(residents), CHUNK):
            grouped = self.session.execute(
                select(Credit.resident_id, Credit.local_day, Credit.action_type, Credit.cap_tag, func.count(),
                       func.sum(Credit.quantity), func.sum(Credit.grams), func.sum(Credit.points))
                .join(GreenAction, GreenAction.id == Credit.id)
                .where(GreenAction.resident_id.in_(residents[start:start + CHUNK]), *credit_days(low, high),
                       Credit.status == "credited")
                .group_by(Credit.resident_id, Credit.local_day, Credit.action_type, Credit.cap_tag))
            self.usage.fold((CommittedUsage(*row) for row in grouped), list(caps.values()))

    def _used(self, resident_id):
        def used(cap, day, tag) -> Usage:
            return self.usage.used(resident_id, cap, day, tag).copy()
        return used

    def _credit(self, rows: list) -> None:
        credited = [r for r in rows if r.status == "credited"]
        if not credited:
            return
        now = max(r.now for r in credited)
        since = min(r.inp.occurred_at for r in credited)
        adjusters = [a for a in (make(self.session, now, since) for make in self.pipeline.batch_adjustments) if a]
        hooks = [make(self.session, now) for make in self.pipeline.batch_outcome_steps]
        self._seed_usage(credited)
        for position, row in enumerate(rows):
            if row.status != "credited":
                continue
            inp = row.inp
            facts = row.facts = ActionFacts(resident_id=inp.resident_id, action_type=inp.action_type,
                                            quantity=inp.quantity, unit=inp.unit, local_day=local_date(inp.occurred_at),
                                            evidence=inp.evidence, attributes=inp.attributes or {})
            adjustments = [adj for adjuster in adjusters for adj in adjuster.adjust(facts, inp.occurred_at)]
            outcome = row.outcome = evaluate(row.compiled, facts, self._used(inp.resident_id), adjustments)
            for hook in hooks:
                if not hasattr(hook, "applies_to") or hook.applies_to(inp.action_type):
                    hook(facts, outcome)
            if adjustments:
                paid = outcome.status == "credited" and any(
                    adj.get("ref", {}).get("rule") == "first_action_bonus"
                    for adj in outcome.trace.get("adjustments", []))
                for adjuster in adjusters:
                    adjuster.settle(inp.resident_id, adjustments, paid, position)
            row.status = outcome.status
            if outcome.status == "credited":
                # Caps count the quantity as credits.quantity stores it.
                self.usage.add(inp.resident_id, row.compiled.caps_for(inp.action_type), facts.local_day,
                               outcome.cap_tag, outcome.grams, outcome.points, inp.quantity.quantize(UNITS_STEP))
        self._adjusters, self._hooks = adjusters, hooks

    # -- writing --------------------------------------------------------------------------------------------

    def _insert(self, model, rows: list) -> list:
        if not rows:
            return []
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        return list(self.session.execute(statement, rows).scalars())

    @staticmethod
    def _credit_columns(r) -> dict:
        """The credit's columns of an action row (all None for an action not credited)."""
        if r.outcome is None:
            return dict(local_day=None, rule_set_id=None, rule_version=None, cap_tag=None, grams=None, points=None,
                        credit_trace=None, credited_at=None)
        return dict(local_day=r.facts.local_day, rule_set_id=r.compiled.id, rule_version=r.compiled.version,
                    cap_tag=r.outcome.cap_tag, grams=r.outcome.grams,
                    points=r.outcome.points, credit_trace=r.outcome.trace, credited_at=r.now)

    def _write(self, rows: list) -> None:
        action_ids = self._insert(GreenAction, [dict(
            resident_id=r.inp.resident_id, action_type=r.inp.action_type, quantity=r.inp.quantity, unit=r.inp.unit,
            occurred_at=r.inp.occurred_at, source=r.inp.source, evidence=r.inp.evidence,
            idem_scope=r.inp.idem_scope, external_id=r.inp.external_id, request_hash=r.inp.request_hash,
            attributes=r.inp.attributes or {}, status=r.status if r.outcome is None else r.outcome.status,
            review_note="", recorded_by=r.inp.recorded_by, created_at=r.now, **self._credit_columns(r)) for r in rows])
        for adjuster in getattr(self, "_adjusters", ()):
            # The claims name the position in the batch; they get the action's id now that it is stored.
            adjuster.claims = {key: action_ids[position] for key, position in adjuster.claims.items()}
        with_credit = [(r, action_id) for r, action_id in zip(rows, action_ids) if r.outcome is not None]
        lots, moves, last = [], {}, {}
        for r, _ in with_credit:
            points, grams = r.outcome.points, r.outcome.grams
            if not earns(r.outcome.status, points, grams):
                continue
            account_id = self.account_of[r.inp.resident_id]
            lots.append(EarnLot(account_id, points, grams, at=r.now))
            move = moves.get(account_id)
            if move is None:
                move = moves[account_id] = BalanceMove()
            move.points += points
            move.grams += grams
            last[account_id] = r.now
        writer = SessionWriter(self.session)
        add_earn_lots(writer, lots, None)
        # An account is last updated when its last credit of the batch was recorded.
        by_time: dict = {}
        for account_id, move in moves.items():
            by_time.setdefault(last[account_id], {})[account_id] = move
        for at, group in by_time.items():
            move_balances(writer, group, at)
        for step in (*getattr(self, "_adjusters", ()), *getattr(self, "_hooks", ())):
            step.flush()
        self._forget_accounts(set(moves))
        for r in rows:
            self.result.recorded += 1
            if r.status == "pending_review":
                self.result.pending_review += 1
            elif r.status == "credited":
                self.result.credited += 1
                self.result.points += r.outcome.points
                self.result.grams += r.outcome.grams
            else:
                self.result.capped += 1

    def _forget_accounts(self, account_ids: set) -> None:
        """Accounts this session holds in memory are stale now that their balances moved in SQL."""
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, Account) and obj.id in account_ids:
                self.session.expire(obj)

    def run(self, batch: list) -> None:
        rows = self._checked(batch)
        self._credit(rows)
        self._write(rows)
        self.session.flush()
