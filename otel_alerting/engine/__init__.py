"""Evaluation: series windows, the evaluator, the alert lifecycle and the manager."""

from .evaluator import Evaluator, GroupKey, RuleResult
from .lifecycle import Alert, AlertState, Transition, TransitionKind
from .manager import AlertManager, AlertSnapshot, HistoryEntry, ManagerStats

__all__ = [
    "Alert",
    "AlertManager",
    "AlertSnapshot",
    "AlertState",
    "Evaluator",
    "GroupKey",
    "HistoryEntry",
    "ManagerStats",
    "RuleResult",
    "Transition",
    "TransitionKind",
]
