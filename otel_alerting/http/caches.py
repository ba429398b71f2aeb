"""Cache hit rates over a sliding window, from the cumulative counts the cache
instrumentation keeps (``CacheMetrics.totals``).

The counts only grow, so a rate over the window is the difference between now and
the newest sample at least a window old. Samples are taken when a report is built
and, once a system is known, at its evaluations; at most ``max_samples`` are kept.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from ..instrumentation.cache import CACHE_NAME, CACHE_RESULT, HIT, CacheMetrics

__all__ = ["CacheWindow", "CacheWindowStats", "totals_by_cache"]

Totals = Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class CacheWindowStats:
    name: str
    hits: int
    misses: int
    #: hits / lookups over ``over_s`` seconds; None when there was no lookup
    hit_rate: float | None
    #: the seconds the rate covers; None: since the counts started
    over_s: float | None


def totals_by_cache(metrics: CacheMetrics) -> dict[str, tuple[int, int]]:
    """(hits, misses) per cache name, summed over the other attributes."""
    by_name: dict[str, list[int]] = {}
    for key, value in metrics.totals().items():
        attributes = dict(key)
        name = str(attributes.get(CACHE_NAME, "?"))
        counts = by_name.setdefault(name, [0, 0])
        counts[0 if attributes.get(CACHE_RESULT) == HIT else 1] += value
    return {name: (hits, misses) for name, (hits, misses) in by_name.items()}


class CacheWindow:
    def __init__(self, window_s: float = 300.0, max_samples: int = 60) -> None:
        self.window_s = window_s
        self._spacing = window_s / max_samples
        self._samples: deque[tuple[float, dict[str, tuple[int, int]]]] = deque()
        self._lock = threading.Lock()

    def sample(self, now: float, totals: Totals) -> None:
        """Keep ``totals`` as seen at ``now`` (unless the last sample is recent)."""
        with self._lock:
            if self._samples and now - self._samples[-1][0] < self._spacing:
                return
            self._samples.append((now, dict(totals)))
            # the oldest kept is the newest one at least a window old: the baseline
            while len(self._samples) > 1 and now - self._samples[1][0] >= self.window_s:
                self._samples.popleft()

    def stats(self, now: float, totals: Totals) -> list[CacheWindowStats]:
        """Each cache's counts and its hit rate over the window ending at ``now``."""
        with self._lock:
            baseline = next(((t, s) for t, s in self._samples if t < now), None)
        result = []
        for name, (hits, misses) in sorted(totals.items()):
            if baseline is None:
                base_hits, base_misses, over = 0, 0, None
            else:
                base_hits, base_misses = baseline[1].get(name, (0, 0))
                over = now - baseline[0]
            lookups = (hits - base_hits) + (misses - base_misses)
            rate = (hits - base_hits) / lookups if lookups > 0 else None
            result.append(CacheWindowStats(name, hits, misses, rate, over))
        return result
