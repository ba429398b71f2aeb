"""Notifications: the value channels receive (``model``), text renderers (``render``)
and the dispatcher (``dispatcher``, imported from its module to keep channels free
of an import cycle)."""

from .model import Batch, Change, Notification, Status, fingerprint

__all__ = ["Batch", "Change", "Notification", "Status", "fingerprint"]
