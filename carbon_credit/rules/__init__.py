"""The rules engine: compiled rule sets, a registry of methods, caps and evaluation.

Everything here is pure computation on plain values so the same code serves a
single API request, a nightly batch of millions of trips and a draft preview.
"""
from carbon_credit.rules.compiled import CapSpec, CompiledRule, CompiledRuleSet, compile_rule_set
from carbon_credit.rules.engine import ActionFacts, Adjustment, Outcome, evaluate
from carbon_credit.rules.methods import METHODS
from carbon_credit.rules.usage import MemoryUsage, Usage

__all__ = [
    "ActionFacts", "Adjustment", "CapSpec", "CompiledRule", "CompiledRuleSet", "METHODS", "MemoryUsage",
    "Outcome", "Usage", "compile_rule_set", "evaluate",
]
