"""The credit pipeline: every step a credit goes through, assembled here and only here.

A credit is made in this order, on every path that credits (API, bot,
workers, partner push, station devices and the bulk transit ingest):

1. campaign adjustments: the multipliers and first-action bonuses of the
   campaigns that cover the action (``campaigns.bonuses``);
2. the rules engine (``rules.evaluate``): carbon, points, caps, rounding;
3. outcome steps, in order: a first-action bonus the engine did not pay is
   given back (``campaigns.bonuses.release_unused_bonus``), then the month's
   points budgets lower the points (``budgets.apply_budget``).

The one-at-a-time path (``actions.credit_action``) takes ``credit_pipeline()``;
the bulk path (``ingest.batch``) takes the same pipeline's batch steps, which
read their state once per batch and write what they decided after the batch's
rows are stored. Nothing is registered by importing a module: what a credit
goes through does not depend on which modules a program happened to import.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Callable


@dataclass(frozen=True)
class CreditPipeline:
    """The steps around the rules engine, for one action and for a bulk batch.

    * ``adjustments``: ``fn(session, action, facts, now) -> [Adjustment]``, before the engine;
    * ``outcome_steps``: ``fn(session, action, outcome, now)``, after it, in order;
    * ``batch_adjustments``: ``fn(session, now, since) -> BatchAdjuster`` (see ``campaigns.bonuses.BatchCampaigns``);
    * ``batch_outcome_steps``: ``fn(session, now) -> BatchStep`` (see ``budgets.BatchBudget``).

    A batch object decides in memory (no statement while the batch's rows are
    being streamed) and writes what it decided in ``flush()``.
    """

    adjustments: tuple[Callable, ...] = ()
    outcome_steps: tuple[Callable, ...] = ()
    batch_adjustments: tuple[Callable, ...] = ()
    batch_outcome_steps: tuple[Callable, ...] = ()


@cache
def credit_pipeline() -> CreditPipeline:
    """The platform's pipeline: campaigns, then the engine, then budgets.

    The steps' modules are imported here, when the pipeline is first asked
    for, because they themselves record actions (campaign check-ins) and so
    import ``actions``, which takes this pipeline.
    """
    from carbon_credit.budgets.limits import apply_budget, prepare_batch_budget
    from carbon_credit.campaigns.bonuses import BatchCampaigns, campaign_adjustments, release_unused_bonus

    return CreditPipeline(
        adjustments=(campaign_adjustments,),
        outcome_steps=(release_unused_bonus, apply_budget),
        batch_adjustments=(BatchCampaigns,),
        batch_outcome_steps=(prepare_batch_budget,),
    )


ENGINE_ONLY = CreditPipeline()  # the rules engine alone: previews and tests of the engine itself

__all__ = ["ENGINE_ONLY", "CreditPipeline", "credit_pipeline"]
