"""Evaluation: series state and windows, the evaluator, the alert lifecycle and the manager."""

from .evaluator import Evaluator
from .lifecycle import Alert, AlertState, Transition, TransitionKind
from .manager import AlertManager, AlertSnapshot, HistoryEntry, ManagerStats
from .results import GroupKey, RuleResult

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
