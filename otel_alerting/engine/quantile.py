"""Quantile estimation from explicit-bucket histograms, as PromQL's ``histogram_quantile``."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["bucket_quantile"]


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """Estimate the ``q`` quantile from per-bucket (not cumulative) ``counts``.

    ``counts`` has one more entry than ``bounds``: the last bucket is (bounds[-1], +inf).
    Linear interpolation inside the bucket; a rank in the +inf bucket yields the
    highest finite bound, as Prometheus does. None when there are no observations.
    """
    total = math.fsum(counts)
    if total <= 0 or not counts:
        return None
    rank = q * total
    cumulative = 0.0
    for index, count in enumerate(counts):
        if count <= 0:
            continue
        if cumulative + count >= rank:
            if index >= len(bounds):
                return float(bounds[-1]) if bounds else None
            upper = float(bounds[index])
            lower = (0.0 if upper > 0 else upper) if index == 0 else float(bounds[index - 1])
            return lower + (upper - lower) * max(rank - cumulative, 0.0) / count
        cumulative += count
    return float(bounds[-1]) if bounds else None
