"""Notifications: the values channels receive (``model``), the interface every channel
implements (``channel``), label matchers and inhibition rules (``matchers``), text
renderers (``render``), and the pipeline that routes, groups, mutes and dispatches
(``routing``, ``grouping``, ``silences``, ``pipeline``, ``dispatcher``, imported from
their modules: a channel imports only what it needs).

Channels import ``notify``; ``notify`` never imports a channel."""

from .model import Batch, Change, Notification, Status, fingerprint

__all__ = ["Batch", "Change", "Notification", "Status", "fingerprint"]
