from __future__ import annotations

import pytest

from otel_alerting.durations import MAX_DURATION_S, format_duration, parse_duration, positive_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("250ms", 0.25),
        ("1m30s500ms", 90.5),
        ("1.5s", 1.5),
        ("0s", 0.0),
        (" 30s ", 30.0),
        ("45", 45.0),
        ("2.5", 2.5),
        (30, 30.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration_accepts_prometheus_forms_and_seconds(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "5 m", "30x", "s30", "1h-5m", "30s junk", "-5s", "-1", "nan", "inf", True, -3, float("inf")],
)
def test_parse_duration_rejects_bad_values_naming_them(text: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    shown = str(text).strip()
    if shown:
        assert shown in str(info.value) or repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (0.25, "250ms"),
        (1.0, "1s"),
        (59.0, "59s"),
        (60.0, "1m"),
        (90.0, "1m30s"),
        (3600.0, "1h"),
        (3661.0, "1h1m1s"),
        (86400.0 + 7200.0, "1d2h"),
        (93784.0, "1d2h3m4s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0004, "0ms"),
        (0.75, "750ms"),
        (0.999, "999ms"),
        (0.9996, "1s"),  # rounds up to the next unit: not 1000ms
        (1.5, "1.5s"),
        (12.345, "12.3s"),  # three significant digits
        (59.5, "59.5s"),
        (59.99, "1m"),  # not 60s
        (60.4, "1m"),  # from a minute on, whole seconds
        (61.5, "1m2s"),
        (90.5, "1m30s"),
        (3600.7, "1h1s"),
    ],
)
def test_format_duration_of_fractional_seconds(seconds: float, text: str) -> None:
    # fired_for, the time between two evaluations, is fractional
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [1.0, 45.0, 90.0, 3600.0, 5400.0, 93784.0])
def test_format_then_parse_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"), [("10s", 10.0), ("500ms", 0.5), ("2.5", 2.5), (3, 3.0), ("1ms", 0.001), ("365d", 31536000.0)]
)
def test_positive_duration_gives_the_seconds_of_a_duration_above_zero(text: object, seconds: float) -> None:
    assert positive_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "0s", 0, "-1s", "abc", "", "inf", "nan", "1e400", True, 1e300, "366d"])
def test_positive_duration_is_none_for_zero_and_what_is_not_a_duration(text: object) -> None:
    assert positive_duration(text) is None


@pytest.mark.parametrize(
    "text", ["1e30", 1e30, "366d", "53w", "8761h", 31536000.001, 10**400, "9" * 400 + "s", -(10**400)]
)
def test_a_duration_longer_than_the_maximum_is_refused_naming_the_limit(text: object) -> None:
    with pytest.raises(ValueError, match=r"365d|non-negative"):
        parse_duration(text)


def test_the_maximum_itself_is_accepted() -> None:
    assert parse_duration("365d") == MAX_DURATION_S == parse_duration("52w1d")
    assert parse_duration(MAX_DURATION_S) == MAX_DURATION_S


def test_an_error_quotes_at_most_60_characters_of_the_value() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("x" * 1_000_000)
    assert len(str(info.value)) < 150
