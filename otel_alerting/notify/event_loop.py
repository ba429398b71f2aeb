"""The dispatcher's event loop, whose blocking calls run on threads of its own.

Name resolution (``loop.getaddrinfo``, used by every HTTP client and SMTP connection)
and the SMTP client's ``asyncio.to_thread`` calls go to the loop's default executor, a
``concurrent.futures.ThreadPoolExecutor``. At a clean exit the SDK shuts the
MeterProvider down, and so runs the final evaluation and the dispatcher's drain, from an
``atexit`` hook; CPython runs ``threading._shutdown`` before the ``atexit`` hooks, and it
sets ``concurrent.futures.thread``'s module-wide shutdown flag, after which *every*
ThreadPoolExecutor, a new one included, refuses work ("cannot schedule new futures after
interpreter shutdown"). What was due at exit was then lost whenever a peer was addressed
by host name. This loop runs such calls on plain daemon threads instead, which threads
can still start during the ``atexit`` hooks, at most ``limit`` at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # only for the annotations: Python 3.10 has no TypeVarTuple
    from typing_extensions import TypeVarTuple, Unpack

    _Ts = TypeVarTuple("_Ts")

__all__ = ["new_event_loop"]

_T = TypeVar("_T")

#: blocking calls at once; one delivery per channel runs at a time, so this is rarely met
DEFAULT_LIMIT = 8


class _OwnThreadsLoop(asyncio.SelectorEventLoop):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._waiting: asyncio.Semaphore | None = None

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[Unpack[_Ts]], _T], *args: Unpack[_Ts]
    ) -> asyncio.Future[_T]:
        if executor is not None:
            return super().run_in_executor(executor, func, *args)
        return asyncio.ensure_future(self._on_own_thread(func, args), loop=self)

    async def _on_own_thread(self, func: Callable[[Unpack[_Ts]], _T], args: tuple[Unpack[_Ts]]) -> _T:
        if self._waiting is None:
            self._waiting = asyncio.Semaphore(self._limit)
        # the slot is given back when the thread ends, not when its caller gives up (a
        # timed-out getaddrinfo still holds its thread): the bound is on threads
        await self._waiting.acquire()
        future: asyncio.Future[_T] = self.create_future()

        def settle(result: _T | None, error: BaseException | None) -> None:
            assert self._waiting is not None
            self._waiting.release()
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        def work() -> None:
            result: _T | None = None
            error: BaseException | None = None
            try:
                result = func(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                error = exc
            try:
                self.call_soon_threadsafe(settle, result, error)
            except RuntimeError:
                pass  # the loop closed meanwhile: nobody waits for the result

        try:
            threading.Thread(target=work, name="otel-alerting-blocking", daemon=True).start()
        except BaseException:
            self._waiting.release()
            raise
        return await future


def new_event_loop(limit: int = DEFAULT_LIMIT) -> asyncio.AbstractEventLoop:
    """An event loop whose default-executor calls run on daemon threads of its own."""
    return _OwnThreadsLoop(limit)
