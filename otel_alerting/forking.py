"""One way to re-initialise after ``fork()``, for every part that owns a thread or a lock."""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable

__all__ = ["after_fork_in_child", "around_fork", "first_of_siblings", "forked_children", "spawned_worker"]


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


# --- pre-fork servers ----------------------------------------------------------------

#: what multiprocessing's ``spawn`` passes a worker's interpreter (until it starts the worker)
_SPAWN_ARGUMENT = "--multiprocessing-fork"

#: fork() calls this process made (gunicorn's master forks its workers); a forked child
#: starts again from zero
_forks = 0
_forked_child = False


def _count_fork() -> None:
    global _forks
    _forks += 1


def _note_child() -> None:
    global _forks, _forked_child
    _forks = 0
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_count_fork, after_in_child=_note_child)


def forked_children() -> int:
    """How many times this process has forked (each child runs the plugin too)."""
    return _forks


def spawned_worker() -> bool:
    """This process is a worker that a supervisor started with multiprocessing's
    ``spawn`` (uvicorn ``--workers``): a fresh interpreter, so no fork hook saw it."""
    if _forked_child:
        return False
    if _SPAWN_ARGUMENT in sys.argv:
        return True
    try:
        import multiprocessing

        return multiprocessing.parent_process() is not None
    except Exception:
        return False


def first_of_siblings(marker_dir: str | None = None) -> bool:
    """True in the first spawned worker of a supervisor to ask, False in its siblings
    (and in later workers): a marker file named after the parent process (its pid and
    start time, so a reused pid is another parent). Without /proc, True in each."""
    import tempfile

    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii", errors="replace") as stat:
            # the start time is the 22nd field; the command name (2nd) may hold spaces
            started = stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return True
    path = os.path.join(marker_dir or tempfile.gettempdir(), f"otel-alerting-workers-{parent}-{started}")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True
