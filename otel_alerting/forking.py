"""One way to re-initialise after ``fork()``, for every part that owns a thread or a lock."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["after_fork_in_child", "around_fork"]


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


def around_fork(before: Callable[[], None], after_in_parent: Callable[[], None]) -> None:
    """Call the bound ``before`` in the thread that calls ``fork()``, just before it,
    and ``after_in_parent`` in that thread once the parent goes on (the child has its
    own ``after_fork_in_child``): the way to keep a fork out of a critical section.

    Held weakly, like ``after_fork_in_child``.
    """
    if not hasattr(os, "register_at_fork"):
        return
    before_ref = weakref.WeakMethod(before)
    after_ref = weakref.WeakMethod(after_in_parent)

    def call_before() -> None:
        bound = before_ref()
        if bound is not None:
            bound()

    def call_after() -> None:
        bound = after_ref()
        if bound is not None:
            bound()

    os.register_at_fork(before=call_before, after_in_parent=call_after)
