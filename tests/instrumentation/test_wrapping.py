"""Patching beneath wrapt wrappers, in every order, and the passthrough shortcut."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import wrapt
from opentelemetry.instrumentation.utils import unwrap

from otel_alerting.instrumentation._wrapping import passthrough_name, unwrap_innermost, wrap_innermost

TOKEN = object()


def make_class() -> type:
    class Client:
        def call(self, x: int) -> list[str]:
            return ["call"]

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self._forward(*args, **kwargs)

        def _forward(self, *args: Any, **kwargs: Any) -> Any:
            return args

    return Client


def outer(tag: str) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> list[str]:
        return [tag, *wrapped(*args, **kwargs)]

    return wrapper


def ours(original: Callable[..., Any]) -> Callable[..., Any]:
    def patch(instance: Any, *args: Any, **kwargs: Any) -> list[str]:
        return ["ours", *original(instance, *args, **kwargs)]

    return patch


@pytest.mark.parametrize("position", [0, 1, 2])
def test_ours_is_innermost_whatever_the_order(position: int) -> None:
    cls = make_class()
    original = cls.__dict__["call"]
    steps = ["a", "b"]
    steps.insert(position, "ours")
    for step in steps:
        if step == "ours":
            wrap_innermost(cls, "call", ours, TOKEN)
        else:
            wrapt.wrap_function_wrapper(cls, "call", outer(step))
    others = [s for s in steps if s != "ours"]
    assert cls().call(1) == [*reversed(others), "ours", "call"]
    assert unwrap_innermost(cls, "call", TOKEN)
    assert cls().call(1) == [*reversed(others), "call"]
    assert not unwrap_innermost(cls, "call", TOKEN)
    for _ in others:
        unwrap(cls, "call")
    assert cls.__dict__["call"] is original


@pytest.mark.parametrize("order", list(itertools.permutations(["contrib", "ours"])))
def test_each_package_removes_only_its_own_layer(order: tuple[str, str]) -> None:
    cls = make_class()
    original = cls.__dict__["call"]
    wrap_innermost(cls, "call", ours, TOKEN)
    wrapt.wrap_function_wrapper(cls, "call", outer("contrib"))
    for step in order:
        if step == "contrib":
            unwrap(cls, "call")  # opentelemetry's unwrap: reads through the class, may leave a bound form
        else:
            assert unwrap_innermost(cls, "call", TOKEN)
    assert cls.__dict__["call"] is original


def test_an_inherited_method_is_patched_and_restored_on_the_subclass() -> None:
    base = make_class()

    class Sub(base):  # type: ignore[valid-type, misc]
        pass

    wrap_innermost(Sub, "call", ours, TOKEN)
    assert Sub().call(1) == ["ours", "call"]
    assert base().call(1) == ["call"]
    assert unwrap_innermost(Sub, "call", TOKEN)
    assert "call" not in Sub.__dict__


def test_a_plain_function_patch_on_top_cannot_be_removed() -> None:
    cls = make_class()
    wrap_innermost(cls, "call", ours, TOKEN)
    below = cls.__dict__["call"]
    cls.call = lambda self, x: ["sentry", *below(self, x)]  # type: ignore[attr-defined]
    assert not unwrap_innermost(cls, "call", TOKEN)


def test_passthrough_name() -> None:
    cls = make_class()
    assert passthrough_name(cls.__dict__["forward"]) == "_forward"
    assert passthrough_name(cls.__dict__["call"]) is None
    assert passthrough_name(cls.__dict__["_forward"]) is None
    assert passthrough_name(len) is None

    async def coroutine(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._forward(*args, **kwargs)

    assert passthrough_name(coroutine) is None
