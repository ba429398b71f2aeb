"""Patch a method *beneath* the wrapt wrappers other instrumentations put on it.

``wrapt.wrap_function_wrapper`` puts each new wrapper outside the previous ones, and
``opentelemetry-instrument`` loads instrumentors in entry-point order, which is not
defined. Our wrappers need to run inside the span of ``opentelemetry-instrumentation-redis``
(to annotate it while it is current and not yet ended), and ``unwrap`` of the
contrib packages removes whatever wrapper is outermost. Splicing ours in as the
innermost layer satisfies both in either order: an instrumentation loaded later wraps
outside ours as usual, one loaded earlier keeps its place outside ours, and each
package's uninstrument removes its own layer.

Our layer is a plain function, not a wrapt ``FunctionWrapper``: binding and calling a
``FunctionWrapper`` costs about 0.4 µs per call, a plain method call a tenth of that.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import wrapt

__all__ = ["passthrough_name", "unwrap_innermost", "wrap_innermost"]

Patch = Callable[..., Any]
_MARK = "__otel_alerting_patch__"


# The flags that change how a call runs (not __future__ imports of the defining module).
_CALL_FLAGS = (
    inspect.CO_VARARGS
    | inspect.CO_VARKEYWORDS
    | inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)


def _passthrough_shape(self: Any, *args: Any, **kwargs: Any) -> Any:
    return self.target(*args, **kwargs)


def passthrough_name(function: Any) -> str | None:
    """``name`` when ``function`` is exactly ``def f(self, *args, **kwargs): return
    self.name(*args, **kwargs)``, else None.

    redis-py 8's ``Redis.execute_command`` is such a method (it forwards to
    ``_execute_command``). A patch that replaces it can call ``instance.name`` itself:
    the same lookup and the same call, one Python frame and one repacking of the
    arguments fewer, which is about 0.25 µs of the 0.55 µs a patched GET would cost.
    The test is on the bytecode, so any other body (another redis-py version, a
    decorator) keeps the original call.
    """
    code = getattr(function, "__code__", None)
    shape = _passthrough_shape.__code__
    if (
        code is None
        or code.co_code != shape.co_code
        or code.co_flags & _CALL_FLAGS != shape.co_flags & _CALL_FLAGS
        or code.co_argcount != shape.co_argcount
        or len(code.co_names) != 1
        or getattr(function, "__closure__", None)
    ):
        return None
    name: str = code.co_names[0]
    return name


def _proxy(node: Any) -> Any:
    """The ``FunctionWrapper`` that binds ``node``, or None when ``node`` is not a wrapt wrapper.

    ``opentelemetry.instrumentation.utils.unwrap`` reads the attribute through the class,
    so unwrapping the outer of two wrappers leaves the inner one's *bound* form (a
    ``BoundFunctionWrapper`` of no instance) on the class; wrapt binds that through its
    parent, so the parent is the node that matters.
    """
    if isinstance(node, wrapt.FunctionWrapper):
        return node
    if isinstance(node, wrapt.BoundFunctionWrapper) and node._self_instance is None:
        return node._self_parent
    return None


def wrap_innermost(owner: type, name: str, make: Callable[[Patch], Patch], token: object) -> None:
    """Replace the function under any wrapt wrappers of ``owner.name`` by ``make(function)``.

    ``token`` identifies the patch for :func:`unwrap_innermost`.
    """
    parent = None
    node: Any = owner.__dict__.get(name)
    if node is None:  # inherited: patch it on ``owner``
        node = inspect.getattr_static(owner, name)
    while (proxy := _proxy(node)) is not None:
        parent, node = proxy, proxy.__wrapped__
    patch = functools.wraps(node)(make(node))
    setattr(patch, _MARK, token)
    if parent is None:
        setattr(owner, name, patch)
    else:
        parent.__wrapped__ = patch


def unwrap_innermost(owner: type, name: str, token: object) -> bool:
    """Remove the patch ``token`` from ``owner.name``, wherever it is under wrapt
    wrappers; the others stay. False when it is not found (another library patched the
    method after us without wrapt: then our patch stays, and the caller disables it)."""
    parent = None
    node: Any = owner.__dict__.get(name)
    while (proxy := _proxy(node)) is not None:
        parent, node = proxy, proxy.__wrapped__
    if getattr(node, _MARK, None) is not token:
        return False
    inner = node.__wrapped__
    if parent is not None:
        parent.__wrapped__ = inner
    elif any(base.__dict__.get(name) is inner for base in owner.__mro__[1:]):
        delattr(owner, name)  # it was inherited: stop shadowing it
    else:
        setattr(owner, name, inner)
    return True
