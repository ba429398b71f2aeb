"""One way to re-initialise after ``fork()``, for every part that owns a thread or a lock."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["after_fork_in_child"]


def after_fork_in_child(method: Callable[[], None]) -> None:
    """Call the bound ``method`` in a forked child (a pre-fork server's worker).

    Held weakly, as the SDK's readers do, so registering never keeps an object alive.
    """
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.WeakMethod(method)

    def in_child() -> None:
        bound = ref()
        if bound is not None:
            bound()

    os.register_at_fork(after_in_child=in_child)
