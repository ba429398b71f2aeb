from __future__ import annotations

import itertools
import math

import pytest

from otel_alerting.engine.quantile import bucket_quantile


def promql_histogram_quantile(q: float, bounds: list[float], counts: list[float]) -> float:
    """A transcription of Prometheus' ``bucketQuantile`` (promql/quantile.go) for
    classic buckets: cumulative counts with a final +Inf bucket."""
    cumulative = list(itertools.accumulate(counts))
    buckets = [*zip([*bounds, math.inf], cumulative)]
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    # sort.Search over all but the +Inf bucket: the first whose cumulative count reaches rank
    b = next((i for i, (_, c) in enumerate(buckets[:-1]) if c >= rank), len(buckets) - 1)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    bucket_start = 0.0
    bucket_end = buckets[b][0]
    count = buckets[b][1]
    if b > 0:
        bucket_start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * (rank / count)


BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0]


@pytest.mark.parametrize(
    ("q", "counts", "expected"),
    [
        # 10 observations in (5, 10]: the median interpolates to the middle of that bucket
        (0.5, [0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], 7.5),
        (1.0, [0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], 10.0),
        # 8 in (5, 10] and 2 in (250, 500]: p90 -> rank 9 -> half way into (250, 500]
        (0.9, [0, 0, 8, 0, 0, 0, 0, 0, 2, 0, 0], 375.0),
        (0.8, [0, 0, 8, 0, 0, 0, 0, 0, 2, 0, 0], 10.0),
        # first bucket with a positive bound interpolates from zero
        (0.5, [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2.5),
        # a rank in the +Inf bucket gives the highest finite bound
        (0.99, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9], 1000.0),
        (0.5, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 1000.0),
    ],
)
def test_known_values(q: float, counts: list[float], expected: float) -> None:
    assert bucket_quantile(q, BOUNDS, counts) == pytest.approx(expected)


def test_first_bucket_with_a_non_positive_bound_returns_that_bound() -> None:
    assert bucket_quantile(0.5, [-5.0, 0.0, 5.0], [4, 0, 0, 0]) == -5.0


def test_no_observations_is_no_data() -> None:
    assert bucket_quantile(0.5, BOUNDS, [0] * 11) is None
    assert bucket_quantile(0.5, [], []) is None


def test_only_an_inf_bucket_is_no_data() -> None:
    # Prometheus returns NaN with fewer than two buckets: no finite bound to report
    assert bucket_quantile(0.5, [], [5]) is None


CASES = [
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    [0, 0, 0, 5, 0, 0, 0, 0, 7, 0, 0],
    [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    [100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
]


@pytest.mark.parametrize("counts", CASES)
@pytest.mark.parametrize("q", [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0])
def test_matches_promql_histogram_quantile(q: float, counts: list[float]) -> None:
    assert bucket_quantile(q, BOUNDS, counts) == pytest.approx(promql_histogram_quantile(q, BOUNDS, counts))


def test_quantile_is_monotonic_in_q() -> None:
    counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    values = [bucket_quantile(q / 100, BOUNDS, counts) for q in range(1, 101)]
    assert all(v is not None for v in values)
    assert values == sorted(values)  # type: ignore[type-var]
