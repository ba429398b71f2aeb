"""Sliding windows of running totals, one per alert group.

A ``rate`` or ``ratio`` reads, per group, how much a total grew over the window: the
total now minus the total at the window's base, the newest snapshot taken at or before
``now - window``. A group born within the window has its birth as its base (total 0
then), as a counter that started inside a PromQL range does.

Snapshots are taken at most every ``window / SNAPSHOTS_PER_WINDOW`` seconds, for every
group of a window at once: the base is then at most that much older than
``now - window`` (the window read is 1/60 longer at worst), and a group keeps at most
about 60 snapshots whatever the window and the collection interval (a 24 h window at a
1 s interval keeps 60, not 86,400).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import MutableSequence

from .series import GroupKey, HistogramValue, Reading

__all__ = ["SNAPSHOTS_PER_WINDOW", "GroupWindow", "Windows"]

#: snapshots kept per window: the base of a window is at most window/60 early
SNAPSHOTS_PER_WINDOW = 60


class GroupWindow:
    """One group's running total and its snapshots over the window."""

    __slots__ = ("base", "last_seen", "offset", "raw", "snapshots", "total")

    def __init__(self, born: float, snapshots: MutableSequence[Reading]) -> None:
        #: (time, total) the increase is counted from: the birth, then the newest
        #: snapshot at or before the window's start
        self.base: tuple[float, Reading] = (born, 0.0)
        #: the group's totals at the newest ``len(snapshots)`` snapshot times of its ``Windows``
        self.snapshots = snapshots
        self.total: Reading = 0.0
        #: for counters, ``total = raw + offset``: ``raw`` is the sum of the group's current
        #: values, ``offset`` what they do not tell (increases before the group was first
        #: seen, counter resets, series that left the group)
        self.raw = 0.0
        self.offset = 0.0
        self.last_seen = born

    def increase(self, now: float) -> tuple[Reading, float]:
        """(increase over the window, seconds it covers)."""
        base_time, base_total = self.base
        total = self.total
        if isinstance(total, HistogramValue):
            grew: Reading = total
            if isinstance(base_total, HistogramValue) and base_total.buckets:
                grew = total.minus(base_total)
        else:
            assert not isinstance(base_total, HistogramValue)
            grew = total - base_total
        return grew, now - base_time


class Windows:
    """The windows of every group of one rule side (a ``rate``, or one side of a ``ratio``).

    The snapshot times are kept once, here; each group keeps its totals at the newest of
    them (a group born later has fewer), in an array of floats for counters.
    ``horizon``: a group with no point for that long is forgotten.
    """

    def __init__(self, window: float, horizon: float, histograms: bool = False) -> None:
        self.window = window
        self.horizon = horizon
        self._every = window / SNAPSHOTS_PER_WINDOW
        self._times: deque[float] = deque()
        self._last_snapshot = -math.inf
        self._histograms = histograms
        #: in order of birth
        self.groups: dict[GroupKey, GroupWindow] = {}

    def _born(self, key: GroupKey, born: float) -> GroupWindow:
        snapshots: MutableSequence[Reading] = [] if self._histograms else array("d")  # type: ignore[assignment]
        found = self.groups[key] = GroupWindow(born, snapshots)
        return found

    def take_counts(self, tick: dict[GroupKey, list[float]], now: float, born: float) -> None:
        """One collection of counters: per group, [sum of its values, sum of its increases]."""
        groups = self.groups
        for key, (raw, increase) in tick.items():
            found = groups.get(key)
            if found is None:
                found = self._born(key, born)
                offset = increase - raw  # its total is this first increase
                found.offset = offset if math.isfinite(offset) else 0.0
            else:
                # What the raw readings do not tell: a reset, a series that joined or left
                # the group. A reading that is not a number (a gauge's NaN) tells nothing:
                # the total follows the raw readings.
                correction = found.raw + increase - raw
                if correction and math.isfinite(correction):
                    found.offset += correction
            found.raw = raw
            found.total = raw + found.offset
            found.last_seen = now

    def take_histograms(self, tick: dict[GroupKey, HistogramValue], now: float, born: float) -> None:
        """One collection of histograms: per group, the sum of its increases."""
        groups = self.groups
        for key, increase in tick.items():
            found = groups.get(key) or self._born(key, born)
            total = found.total
            found.total = total.plus(increase) if isinstance(total, HistogramValue) else increase
            found.last_seen = now

    def advance(self, now: float) -> list[GroupKey]:
        """Take a snapshot if one is due, move each base to the window's start, and
        forget the groups silent for the horizon; returns those."""
        groups = self.groups
        if not groups:
            return []
        times = self._times
        snapshot = now - self._last_snapshot >= self._every
        if snapshot:
            self._last_snapshot = now
            times.append(now)
        start = now - self.window
        dropped = None
        while times and times[0] <= start:
            dropped = times.popleft()
        kept = len(times)
        oldest = now - self.horizon
        gone = []
        for key, group in groups.items():
            snapshots = group.snapshots
            if snapshot:
                snapshots.append(group.total)
            extra = len(snapshots) - kept
            if extra > 0:  # its oldest snapshots fell out of the window: the newest of them is the base
                assert dropped is not None
                group.base = (dropped, snapshots[extra - 1])
                del snapshots[:extra]
            if group.last_seen < oldest:
                gone.append(key)
        for key in gone:
            del groups[key]
        return gone

    def increases(self, now: float) -> dict[GroupKey, Reading]:
        """Per group, its increase over the window."""
        return {key: group.increase(now)[0] for key, group in self.groups.items()}

    def rates(self, now: float) -> dict[GroupKey, float | None]:
        """Per group of counters, its increase over the window per second (None: no span,
        as after a clock that stepped back)."""
        out: dict[GroupKey, float | None] = {}
        for key, group in self.groups.items():
            base_time, base_total = group.base
            covered = now - base_time
            out[key] = (group.total - base_total) / covered if covered > 0 else None  # type: ignore[operator]
        return out
