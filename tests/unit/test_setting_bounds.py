"""Every whole-number setting is bounded: past its maximum (or not a whole number in
ASCII digits) it is an error naming the variable and the limit, the default is kept, and
nothing raises; at its maximum the plugin starts without allocating for it."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_alerting.channels.webhook import load_webhook_config
from otel_alerting.config import (
    MAX_CARDINALITY_LIMIT,
    MAX_COUNT,
    MAX_HISTORY_SIZE,
    MAX_QUEUE_SIZE,
    MAX_SERIES_PER_RULE,
    EnvReader,
    Settings,
    load_settings,
)
from otel_alerting.reader import AlertingMetricReader

from .test_hostile_settings import FULL, load_everything

P = "OTEL_PYTHON_ALERTING_"
#: the settings of ``Settings``: variable -> (field, default, maximum)
SETTINGS = {
    P + "QUEUE_SIZE": ("queue_size", 10_000, MAX_QUEUE_SIZE),
    P + "HISTORY_SIZE": ("history_size", 1000, MAX_HISTORY_SIZE),
    P + "CARDINALITY_LIMIT": ("cardinality_limit", 10_000, MAX_CARDINALITY_LIMIT),
    P + "MAX_SERIES_PER_RULE": ("max_series_per_rule", 10_000, MAX_SERIES_PER_RULE),
}
#: read with ``EnvReader.count``: 0 (no limit) to MAX_COUNT
COUNTS = {P + "WEBHOOK_MAX_ALERTS"}


@pytest.fixture(scope="module")
def whole_number_variables() -> set[str]:
    """Every variable read as a count or a whole number, found by watching the reader."""
    read: set[str] = set()
    originals: dict[str, Callable[..., Any]] = {name: getattr(EnvReader, name) for name in ("number", "count")}

    def watch(name: str) -> Callable[..., Any]:
        def wrapper(self: EnvReader, variable: str, *args: Any, **kwargs: Any) -> Any:
            if name == "count" or kwargs.get("integer", args[2] if len(args) > 2 else False):
                read.add(variable)
            return originals[name](self, variable, *args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for name in originals:
            patch.setattr(EnvReader, name, watch(name))
        assert load_everything(FULL) == []
    return read


def test_every_whole_number_setting_has_a_maximum_here(whole_number_variables: set[str]) -> None:
    assert whole_number_variables == set(SETTINGS) | COUNTS


def test_the_maxima() -> None:
    assert (MAX_QUEUE_SIZE, MAX_HISTORY_SIZE, MAX_CARDINALITY_LIMIT, MAX_SERIES_PER_RULE, MAX_COUNT) == (
        1_000_000,
        100_000,
        1_000_000,
        1_000_000,
        1_000_000,
    )


@pytest.mark.parametrize("variable", sorted(SETTINGS))
@pytest.mark.parametrize("over", [1, 10**6, 10**13])
def test_past_the_maximum_is_an_error_naming_the_limit(variable: str, over: int) -> None:
    field, default, maximum = SETTINGS[variable]
    value = str(maximum + over)
    settings = load_settings({variable: value})
    assert [str(e) for e in settings.errors] == [
        f"{variable}: invalid value '{value}': expected a whole number from 1 to {maximum}"
    ]
    assert getattr(settings, field) == default == getattr(Settings(), field)


@pytest.mark.parametrize("variable", sorted(SETTINGS))
@pytest.mark.parametrize("value", ["1e19", "1e308", "9" * 5000, "inf", "-inf", "nan", "0", "-1", "1.5", "²"])
def test_hostile_values_keep_the_default(variable: str, value: str) -> None:
    field, default, _ = SETTINGS[variable]
    settings = load_settings({variable: value})
    (error,) = settings.errors
    assert str(error).startswith(f"{variable}: invalid value "), error
    assert getattr(settings, field) == default


@pytest.mark.parametrize("variable", sorted(SETTINGS))
def test_the_maximum_itself_is_accepted(variable: str) -> None:
    field, _, maximum = SETTINGS[variable]
    for value in (str(maximum), f"{maximum:g}"):
        settings = load_settings({variable: value})
        assert settings.errors == () and getattr(settings, field) == maximum, value


def test_a_count_past_its_maximum_names_the_limit() -> None:
    variable = P + "WEBHOOK_MAX_ALERTS"
    for value in (str(MAX_COUNT + 1), "9" * 5000, "0" * 5000 + "2000000"):
        config, errors = load_webhook_config({P + "WEBHOOK_URL": "http://127.0.0.1:1/hook", variable: value})
        assert config is None  # a bad setting of a channel keeps the channel off, as before
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        assert [str(e) for e in errors] == [
            f"{variable}: invalid value {shown}: expected a whole number of at most 1000000"
        ]
    config, errors = load_webhook_config({P + "WEBHOOK_URL": "http://127.0.0.1:1/hook", variable: str(MAX_COUNT)})
    assert errors == [] and config is not None and config.max_alerts == MAX_COUNT


@pytest.mark.parametrize("value", ["²", "\u0661", "9" * 5000, "0" * 5000 + "1"])
@pytest.mark.parametrize("variable", ["HTTP_PORT", "HTTP_HEALTH_FAILING_STATUS", "WEBHOOK_MAX_ALERTS"])
def test_odd_digits_are_errors_not_exceptions(variable: str, value: str) -> None:
    problems = load_everything({**FULL, P + variable: value})
    if value == "0" * 5000 + "1" and variable != "HTTP_HEALTH_FAILING_STATUS":
        assert problems == []  # 1, after its leading zeros: a port, a count
        return
    assert [p for p in problems if p.startswith(P + variable + ": invalid value ")], problems


def _start(environ: Mapping[str, str]) -> tuple[AlertingMetricReader, int]:
    """A reader started (its alerting system built, one collection made) and the bytes
    its start-up allocated at most."""
    tracemalloc.start()
    try:
        reader = AlertingMetricReader(environ={P + "CHANNELS": "log", **environ}, start_timer=False)
        provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
        provider.get_meter("bounds").create_counter("app.requests").add(1)
        reader.collect()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    provider.shutdown()
    return reader, peak


def test_the_plugin_starts_at_every_maximum_without_allocating_for_it() -> None:
    _start({})  # the lazy imports, out of the comparison
    _, baseline = _start({})
    reader, peak = _start({variable: str(maximum) for variable, (_, _, maximum) in SETTINGS.items()})
    assert reader.system is not None
    settings = reader.system.settings
    assert (settings.queue_size, settings.history_size, settings.cardinality_limit) == (
        MAX_QUEUE_SIZE,
        MAX_HISTORY_SIZE,
        MAX_CARDINALITY_LIMIT,
    )
    assert peak < baseline + 200_000, (baseline, peak)


def test_a_history_too_large_for_a_deque_keeps_the_plugin_running() -> None:
    # deque(maxlen=10**19) is an OverflowError: the bound keeps it from the start-up
    reader, _ = _start({P + "HISTORY_SIZE": "1e19"})
    assert reader.system is not None and reader.system.settings.history_size == 1000
