"""Crediting a batch of matched trips in memory with the one rules engine.

Caps start from what the database already holds for the residents and days
of the batch (committed credits, grouped) and then count the batch's own
credits in time order, exactly as ``carbon_credit.rules.evaluate`` would see
them one by one.

Two caches keep the common trip from being evaluated and serialised millions
of times, and both give byte for byte the trace ``evaluate`` would write:

* a *template* per (rule version, type, quantity, unit, adjustments): the
  outcome with nothing used yet, valid for every resident whose caps all have
  room for this trip (then no cap changes the outcome, only the ``used_before``
  figures of the trace differ); its trace is stored once as a shared form and
  each credit keeps only its own figures (``Credit.trace`` puts them together);
* for the rest (a cap binds or nearly does) the outcome memoised on the exact
  used amount of each cap.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from carbon_credit.models.actions import fill_trace_form
from carbon_credit.rules import ActionFacts, Usage, evaluate
from carbon_credit.rules.usage import MemoryUsage, usage_key

EVIDENCE = "partner"
MEMO_LIMIT = 20_000
_EMPTY = MemoryUsage.EMPTY


@dataclass(slots=True)
class Credited:
    status: str
    grams: int
    points: int
    cap_tag: object
    trace_json: str  # what the credit's trace column holds: the whole trace, or a form's figures
    form: object = None  # the Template whose shared trace form the figures fill in
    copy_text: Optional[str] = None  # the trace escaped for COPY once per memoised outcome (PostgreSQL writer)
    adjusted: bool = False  # the engine applied the campaign adjustments (a first-action bonus was paid)

    def full_trace_json(self) -> str:
        """The whole trace, as the rules engine writes it."""
        if self.form is None:
            return self.trace_json
        return dump_trace(fill_trace_form(json.loads(self.form.body_json), json.loads(self.trace_json)))


def dump_trace(trace: dict) -> str:
    return json.dumps(trace, ensure_ascii=False, separators=(",", ":"), default=str)


class Template:
    """The outcome of one kind of trip with every cap untouched; its trace is a shared form.

    A credit made from a template stores only what its caps had used before
    (the list of figures, in the trace's cap order) and points to the
    form, which the writer stores once (``trace_forms``, keyed by digest).
    """

    __slots__ = ("status", "grams", "points", "cap_tag", "body_json", "digest", "form_id", "checks", "order", "full",
                 "adjusted")

    def __init__(self, outcome, caps, quantity: Decimal, full=None):
        self.status, self.grams, self.points, self.cap_tag = (outcome.status, outcome.grams, outcome.points,
                                                               outcome.cap_tag)
        self.adjusted = bool(outcome.trace.get("adjustments"))
        trace = dict(outcome.trace)
        trace["caps"] = [dict(step, used_before=None) for step in trace["caps"]]
        self.body_json = dump_trace(trace)
        self.digest = hashlib.sha256(self.body_json.encode()).hexdigest()
        self.form_id = None  # set by the writer once the form is stored
        # What this trip adds to each cap, as an upper bound of the unrounded amount the engine compares.
        demand = {"count": 1, "units": quantity, "grams": self.grams + 1, "points": self.points + 1}
        self.checks = tuple((cap.metric, cap.limit, demand[cap.metric]) for cap in caps)
        # The engine traces carbon caps first, then points caps.
        self.order = tuple(sorted(range(len(caps)), key=lambda i: caps[i].stage == "points"))
        # For a capped template: the index and cap of the first carbon cap, already full.
        self.full = full

    @staticmethod
    def usable(outcome, caps) -> bool:
        steps = outcome.trace.get("caps", ())
        return (outcome.status == "credited" and len(steps) == len(caps)
                and all(step.get("effect") == "ok" for step in steps))

    @staticmethod
    def usable_capped(outcome, caps) -> bool:
        """Capped by the first carbon cap: every carbon cap after it caps, points caps see nothing to cap."""
        steps = outcome.trace.get("caps", ())
        stages = [caps[i].stage for i in sorted(range(len(caps)), key=lambda i: caps[i].stage == "points")]
        return (outcome.status == "capped" and len(steps) == len(caps)
                and all(step.get("effect") == ("capped" if stage == "carbon" else "ok")
                        for step, stage in zip(steps, stages)))

    def fits(self, used) -> bool:
        """True when this very outcome is what the engine would write for this usage."""
        if self.full is not None:
            index, cap = self.full
            usage = used[index]
            return usage.count + 1 > cap.limit if cap.metric == "count" else getattr(usage, cap.metric) >= cap.limit
        for (metric, limit, demand), usage in zip(self.checks, used):
            if getattr(usage, metric) + demand > limit:
                return False
        return True

    def credited(self, used, caps) -> "Credited":
        figures = '","'.join([str(used[i].metric(caps[i].metric)) for i in self.order])
        return Credited(self.status, self.grams, self.points, self.cap_tag, '["' + figures + '"]' if figures else '[]',
                        self, adjusted=self.adjusted)


class BatchCreditor:
    """Evaluates trips one by one against the in-memory caps of one batch.

    ``adjusters`` and ``outcome_hooks`` are the credit pipeline's batch steps
    (pipeline.py); none of them sends a statement while the batch is credited
    (the PostgreSQL writer credits inside a COPY); ``flush()`` writes what they
    decided once the batch's rows are stored.
    """

    def __init__(self, adjusters=(), outcome_hooks=(), memo=None):
        self.usage = MemoryUsage()
        self.adjusters = list(adjusters)
        self.hooks = list(outcome_hooks)
        self.memo = memo if memo is not None else {}
        self.templates = self.memo.setdefault("templates", {})
        self._caps: dict = {}
        self._hooks: dict = {}

    def hooks_for(self, action_type: str) -> list:
        """The outcome hooks that can change this type's outcomes (a hook may say so with ``applies_to``)."""
        hooks = self._hooks.get(action_type)
        if hooks is None:
            hooks = self._hooks[action_type] = [
                hook for hook in self.hooks
                if not hasattr(hook, "applies_to") or hook.applies_to(action_type)]
        return hooks

    def caps_for(self, compiled, action_type: str) -> tuple:
        key = (compiled.id, compiled.version, action_type)
        caps = self._caps.get(key)
        if caps is None:
            caps = self._caps[key] = tuple(compiled.caps_for(action_type))
        return caps

    def seed(self, rows, caps) -> None:
        """Start the caps from committed usage (``rules.usage.CommittedUsage`` rows)."""
        self.usage.fold(rows, caps)

    def flush(self) -> None:
        """The batch steps' own writes (enrolments, bonus claims, budget counters), in the batch's transaction."""
        for step in (*self.adjusters, *self.hooks):
            step.flush()

    def credit(self, trip, resident_id: int, action_id: Optional[int] = None) -> Credited:
        compiled, day = trip.rule_set, trip.day
        caps = self.caps_for(compiled, trip.action_type)
        attributes = {"mode": trip.mode}
        tag = next((str(attributes.get(c.per)) for c in caps if c.per), None)
        keys = [usage_key(resident_id, cap, day, tag) for cap in caps]
        by_key = self.usage.by_key
        used = [by_key.get(k, _EMPTY) for k in keys]
        facts = adjustments = None
        hooks = self.hooks_for(trip.action_type) if self.hooks else ()
        if self.adjusters or hooks:
            facts = self._facts(trip, resident_id, attributes)
            adjustments = [adj for adjuster in self.adjusters for adj in adjuster.adjust(facts, trip.board)]
        kind = (compiled.id, compiled.version, trip.action_type, str(trip.quantity), trip.unit,
                repr(adjustments) if adjustments else None)
        result = None
        if not hooks:
            template = self.templates.get(kind, _EMPTY)
            if template is _EMPTY:
                template = self._template(kind, trip, resident_id, attributes, caps, facts, adjustments or ())
            if template is None or not template.fits(used):
                template = self.templates.get(("capped", kind), _EMPTY)
                if template is _EMPTY:
                    template = self._capped_template(kind, trip, resident_id, attributes, caps, facts,
                                                     adjustments or ())
            if template is not None and template.fits(used):
                result = template.credited(used, caps)
            else:
                memo_key = (kind, tuple(getattr(u, c.metric) for c, u in zip(caps, used)))
                result = self.memo.get(memo_key)
                if result is None:
                    result = self._evaluate(trip, resident_id, attributes, caps, used, facts, adjustments or ())
                    if len(self.memo) >= MEMO_LIMIT:
                        self.memo.clear()
                        self.memo["templates"] = self.templates
                    self.memo[memo_key] = result
        else:
            result = self._evaluate(trip, resident_id, attributes, caps, used, facts, adjustments or (), hooks)
        if adjustments:
            paid = result.status == "credited" and result.adjusted
            for adjuster in self.adjusters:
                adjuster.settle(resident_id, adjustments, paid, action_id)
        if result.status == "credited":
            self.usage.add_at(keys, trip.quantity, result.grams, result.points)
        return result

    def _template(self, kind, trip, resident_id, attributes, caps, facts, adjustments):
        """The outcome with every cap untouched, if no cap touches it then; None otherwise."""
        facts = facts or self._facts(trip, resident_id, attributes)
        outcome = evaluate(trip.rule_set, facts, lambda cap, _day, _tag: _EMPTY, adjustments)
        template = Template(outcome, caps, trip.quantity) if Template.usable(outcome, caps) else None
        if len(self.templates) >= MEMO_LIMIT:
            self.templates.clear()
        self.templates[kind] = template
        return template

    def _capped_template(self, kind, trip, resident_id, attributes, caps, facts, adjustments):
        """The outcome once the first carbon cap is full (the daily trip count reached), if that is simple."""
        first = next((i for i, cap in enumerate(caps) if cap.stage == "carbon"), None)
        template = None
        if first is not None:
            cap = caps[first]
            full = Usage(int(cap.limit), cap.limit, cap.limit, Decimal(0))
            facts = facts or self._facts(trip, resident_id, attributes)
            outcome = evaluate(trip.rule_set, facts, lambda c, _day, _tag: full if c is cap else _EMPTY, adjustments)
            if Template.usable_capped(outcome, caps):
                template = Template(outcome, caps, trip.quantity, full=(first, cap))
        self.templates[("capped", kind)] = template
        return template

    @staticmethod
    def _facts(trip, resident_id, attributes) -> ActionFacts:
        return ActionFacts(resident_id=resident_id, action_type=trip.action_type, quantity=trip.quantity,
                           unit=trip.unit, local_day=trip.day, evidence=EVIDENCE, attributes=attributes)

    def _evaluate(self, trip, resident_id, attributes, caps, used, facts, adjustments, hooks=()) -> Credited:
        facts = facts or self._facts(trip, resident_id, attributes)
        by_cap = {cap.name: u.copy() for cap, u in zip(caps, used)}
        outcome = evaluate(trip.rule_set, facts, lambda cap, _day, _tag: by_cap[cap.name], adjustments)
        for hook in hooks:
            hook(facts, outcome)
        return Credited(outcome.status, outcome.grams, outcome.points, outcome.cap_tag, dump_trace(outcome.trace),
                        adjusted=bool(outcome.trace.get("adjustments")))
