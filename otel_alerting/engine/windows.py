"""Sliding windows of running totals, one per alert group, kept as columns.

A ``rate`` or ``ratio`` reads, per group, how much a total grew over the window: the
total now minus the total at the window's base, the newest snapshot taken at or
before ``now - window``. A group born within the window has its birth as its base
(total 0 then), as a counter that started inside a PromQL range does.

The windows of all groups of one rule side live in one ``CounterWindow``, as columns
indexed by a slot per group (slots are appended and only renumbered when silent groups
are forgotten). A group's total is kept as ``raw + offset``: ``raw`` is the sum of the
current values of its series (a cumulative counter's reading, or a delta series' running
total) and ``offset`` absorbs what the raw reading does not tell (increases before it
was first seen, counter resets, series that left the group). Between two collections of
the same series, in the same order and without a reset (the steady case), the offsets
do not change: a collection replaces the ``raw`` column with the batch's own list,
and the increases over the window are one subtraction of two lists, both in C, with
nothing done per group in Python.

A snapshot is a reference to the two columns (copied on write), taken at most every
``window / SNAPSHOTS_PER_WINDOW`` seconds: the base is then at most that much older
than ``now - window`` (the window read is 1/60 longer at worst), and a window holds at
most ~60 references per group, whatever the collection interval.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import reduce
from itertools import islice
from operator import add, itemgetter, sub
from typing import Any

from .results import GroupKey, GroupValues
from .series import Batch, Route

__all__ = ["SNAPSHOTS_PER_WINDOW", "CounterWindow", "RateValues"]

#: snapshots kept per window: the base of a window is at most window/60 early
SNAPSHOTS_PER_WINDOW = 60

#: turns a column of readings (and whether they are histograms) into the numbers a
#: side reads: the values, or a histogram's count or sum
Reader = Callable[[list[Any], bool], list[Any]]


class _Snapshot:
    __slots__ = ("offsets", "raws", "time")

    def __init__(self, time: float, raws: Sequence[Any], offsets: Sequence[Any]) -> None:
        self.time = time
        self.raws = raws
        self.offsets = offsets


class CounterWindow:
    """The totals of every group of one rule side over a sliding ``window`` (seconds).

    ``horizon``: a group with no point for that long is forgotten.
    """

    def __init__(self, window: float, horizon: float) -> None:
        self.window = window
        self.horizon = horizon
        self._every = window / SNAPSHOTS_PER_WINDOW
        #: group of each slot (replaced, never changed in place: results hold it)
        self.keys: list[GroupKey] = []
        self._slots: dict[GroupKey, int] = {}
        # per slot; lists held by a snapshot are copied before they change
        self._raws: list[Any] = []
        self._offsets: list[Any] = []
        self._last_seen: list[float] = []
        #: every slot had a point at this time (the steady case does not touch _last_seen)
        self._seen_all = -math.inf
        #: (first slot, time) of the groups born after the base, oldest first: slots are
        #: appended in order of birth, so each birth time holds a run of slots
        self._births: list[tuple[int, float]] = []
        self._snapshots: deque[_Snapshot] = deque()
        self._base: _Snapshot | None = None
        self._pending: list[tuple[Route, Batch]] = []
        #: (route, its series' values): the steady case of groups of several series,
        #: whose raw readings (the sums per group) are worked out only when needed
        self._grouping: tuple[Route, list[Any]] | None = None
        #: when known, at least the largest increase over the window of a single run of
        #: slots: a rule whose threshold it does not reach needs no pass over the groups
        self._bound: Any = None
        #: the groups are monotonic counters read on the steady path (a bound holds)
        self._monotonic = False
        self._generation = 0
        #: the route whose points are exactly our slots, in order, one point per slot
        self._aligned: Route | None = None

    def observe(self, route: Route, batch: Batch) -> None:
        self._pending.append((route, batch))

    def advance(self, now: float, previous: float, read: Reader) -> list[GroupKey]:
        """Take the collection's points (``read`` turns a column of readings into numbers);
        returns the groups forgotten now."""
        pending = self._pending
        if not pending and not self.keys:
            return []  # no group yet: nothing to keep (a group's base is its birth)
        self._pending = []
        self._generation += 1
        if len(pending) == 1 and pending[0][0] is self._aligned and pending[0][1].steady:
            route, batch = pending[0]
            # the same series, in the same order, no reset: the offsets stand (numbers
            # only: histograms never take the steady path, so ``read`` has nothing to do)
            values = batch.values if route.index is None else route.pick(batch.values)
            if route.unique:
                self._raws = values
                self._grouping = None
            else:  # each group's sum of its series, worked out when needed
                self._grouping = (route, values)
            self._seen_all = now
            kind = batch.layout.kind
            self._monotonic = len(kind) == 3 and kind[2]
            bound = self._bound
            if bound is not None and self._monotonic:
                # a monotonic counter: no increase over the window grew by more than
                # the largest increase of a group in this collection (a later base
                # only lowers them)
                largest = batch.largest
                if largest is not None:
                    # no point of the batch grew by more (its selected ones neither): a
                    # group, by at most that many times its number of points
                    if not route.unique:
                        largest *= route.widest()
                else:  # at most all increases together
                    increases = route.pick(batch.increases())
                    largest = (max(increases) if route.unique else sum(increases)) if increases else 0
                if largest > 0:
                    self._bound = bound + largest
        elif pending:
            self._monotonic = False
            self._take(pending, now, previous, read)
        if not self._monotonic:
            # a gauge or up-down counter can grow over the window as its base moves on
            self._bound = None
        snapshots = self._snapshots
        if not snapshots or now - snapshots[-1].time >= self._every:
            snapshots.append(_Snapshot(now, self._current_raws(), self._offsets))
        horizon = now - self.window
        while snapshots and snapshots[0].time <= horizon:
            self._base = snapshots.popleft()
        if self._base is not None:
            base_time = self._base.time
            births = self._births
            while births and births[0][1] < base_time:
                births.pop(0)
        if self._seen_all >= now - self.horizon:
            return []  # every group had a point lately (the steady case): none to forget
        return self._forget(now)

    def _take(self, pending: list[tuple[Route, Batch]], now: float, previous: float, read: Reader) -> None:
        """The general case: per group, its raw reading and its increase, in Python."""
        tick: dict[GroupKey, list[Any]] = {}
        for route, batch in pending:
            values = read(route.pick(batch.values), batch.histogram)
            increases = read(route.pick(batch.increases()), batch.histogram)
            if route.unique:
                readings: Iterable[tuple[GroupKey, Any, Any]] = zip(route.keys, values, increases)
            else:
                readings = _per_group(route, values, increases)
            for key, value, increase in readings:
                found = tick.get(key)
                if found is None:
                    tick[key] = [value, increase]
                else:
                    found[0] += value
                    found[1] += increase
        raws = self._current_raws()[:]
        offsets = self._offsets[:]
        last_seen = self._last_seen
        slots = self._slots
        born: list[GroupKey] = []
        for key, (raw, increase) in tick.items():
            slot = slots.get(key)
            if slot is None:
                slots[key] = len(raws)
                born.append(key)
                raws.append(raw)
                offset = increase - raw  # its total is this first increase
                offsets.append(offset if math.isfinite(offset) else 0.0)
                last_seen.append(now)
                continue
            # What the raw readings do not tell: a reset, a series that joined or left
            # the group. A reading that is not a number (a gauge's NaN) tells nothing:
            # the total follows the raw readings, as in the steady case.
            correction = raws[slot] + increase - raw
            if correction and math.isfinite(correction):
                offsets[slot] = offsets[slot] + correction
            raws[slot] = raw
            last_seen[slot] = now
        if born:
            if not self._births or self._births[-1][1] != previous:
                self._births.append((len(self.keys), previous))
            self.keys = self.keys + born
        self._raws = raws
        self._offsets = offsets
        route = pending[0][0]
        aligned = len(pending) == 1 and (
            route.keys == self.keys if route.unique else [key for key, _, _ in route.getters()] == self.keys
        )
        self._aligned = route if aligned else None
        if aligned:
            self._seen_all = now

    def _forget(self, now: float) -> list[GroupKey]:
        oldest = now - self.horizon
        last_seen = self._last_seen
        if self._seen_all >= oldest or not last_seen or min(last_seen) >= oldest:
            return []
        seen_all = self._seen_all
        keep = [slot for slot, seen in enumerate(last_seen) if seen >= oldest or seen_all >= oldest]
        if len(keep) == len(last_seen):
            return []
        kept = set(keep)
        gone = [key for slot, key in enumerate(self.keys) if slot not in kept]
        take = _taker(keep)
        self.keys = take(self.keys)
        self._slots = {key: slot for slot, key in enumerate(self.keys)}
        self._last_seen = take(last_seen)
        renumber = {old: new for new, old in enumerate(keep)}
        births: list[tuple[int, float]] = []
        runs = self._births
        for i, (first, time) in enumerate(runs):
            end = runs[i + 1][0] if i + 1 < len(runs) else len(last_seen)
            # the run goes on at its first kept slot, if any is kept
            moved = next((renumber[s] for s in range(first, end) if s in renumber), None)
            if moved is not None:
                births.append((moved, time))
        self._births = births
        # snapshots share lists (an unchanged column is one list in many snapshots):
        # each list is renumbered once, so they stay shared
        renumbered: dict[int, Any] = {}

        def take_held(column: Any) -> Any:
            found = renumbered.get(id(column))
            if found is None:
                # slots born after a snapshot are not in it: take only those it has
                found = renumbered[id(column)] = _taker([s for s in keep if s < len(column)])(column)
            return found

        for snapshot in [*self._snapshots, *([self._base] if self._base is not None else [])]:
            snapshot.raws = take_held(snapshot.raws)
            snapshot.offsets = take_held(snapshot.offsets)
        self._raws = take_held(self._current_raws())
        self._offsets = take_held(self._offsets)
        self._aligned = None
        self._bound = None
        return gone

    # --- reading ------------------------------------------------------------

    def _current_raws(self) -> list[Any]:
        if self._grouping is not None:
            self._raws = _group_sums(*self._grouping)
            self._grouping = None
        return self._raws

    def _runs(self, now: float) -> list[_Run]:
        """The increases over the window, run by run of slots that share a span."""
        n = len(self.keys)
        offsets = self._offsets
        raws: Sequence[Any] | Callable[[], Sequence[Any]]
        raws = self._raws if self._grouping is None else _sums_when_read(*self._grouping)
        births = self._births
        young = births[0][0] if births else n
        base = self._base
        runs: list[_Run] = []
        if base is not None and young > 0:
            if base.offsets is offsets:  # no offset moved since the base: raws alone
                runs.append(_Run(0, young, now - base.time, sub, raws, base.raws))
            else:
                current = self._current_raws()
                totals = list(map(add, current[:young], offsets[:young]))
                runs.append(_Run(0, young, now - base.time, sub, totals, list(map(add, base.raws, base.offsets))))
        for i, (first, born) in enumerate(births):
            end = births[i + 1][0] if i + 1 < len(births) else n
            runs.append(_Run(first, end, now - born, add, raws, offsets))
        return runs

    def rates(self, now: float) -> RateValues:
        """Per group, its increase over the window divided by the seconds it covers."""
        runs = self._runs(now)
        if len(runs) != 1:
            self._bound = None
            return RateValues(self.keys, runs, self._slots)
        generation = self._generation

        def learn(largest: Any) -> None:
            if self._generation == generation:  # nothing taken since
                self._bound = largest

        return RateValues(self.keys, runs, self._slots, self._bound, learn)

    def increases(self, now: float) -> dict[GroupKey, Any]:
        """Per group, its increase over the window."""
        out: dict[GroupKey, Any] = {}
        keys = self.keys
        for run in self._runs(now):
            out.update(zip(keys[run.first : run.end], run.values()))
        return out


class _Run:
    """Slots ``first`` to ``end`` (excluded) whose increases cover the same seconds:
    ``op(left[i], right[i])`` for each slot ``i``, worked out when read. ``left`` may be
    a function giving the list, called when first read."""

    __slots__ = ("_left", "_op", "_right", "covered", "end", "first")

    def __init__(
        self,
        first: int,
        end: int,
        covered: float,
        op: Callable[[Any, Any], Any],
        left: Sequence[Any] | Callable[[], Sequence[Any]],
        right: Sequence[Any],
    ) -> None:
        self.first = first
        self.end = end
        self.covered = covered
        self._op = op
        self._left = left
        self._right = right

    @property
    def left(self) -> Sequence[Any]:
        left = self._left
        if callable(left):
            left = self._left = left()
        return left

    def values(self) -> Iterator[Any]:
        first, end = self.first, self.end
        left, right = self.left, self._right
        if first == 0:
            # map stops at the shorter list; slots past ``end`` are another run's
            found = map(self._op, left, right)
            return found if min(len(left), len(right)) <= end else islice(found, end)
        return map(self._op, left[first:end], right[first:end])

    def at(self, slot: int) -> Any:
        return self._op(self.left[slot], self._right[slot])


def _sums_when_read(route: Route, values: list[Any]) -> Callable[[], list[Any]]:
    """``_group_sums(route, values)``, worked out on the first call only."""
    found: list[list[Any]] = []

    def sums() -> list[Any]:
        if not found:
            found.append(_group_sums(route, values))
        return found[0]

    return sums


def _group_sums(route: Route, values: list[Any]) -> list[Any]:
    """Per group of ``route``, in its order, the sum of its entries of ``values``."""
    return [entries(values) if single else sum(entries(values)) for _, entries, single in route.getters()]


def _per_group(route: Route, values: list[Any], increases: list[Any]) -> Iterator[tuple[GroupKey, Any, Any]]:
    """Per group of ``route``: its key, the sum of its raw readings and of its increases.

    Raw readings are summed as the steady case sums them (``sum``); increases are added
    in order, as a running total adds them (``sum`` compensates rounding on 3.12+)."""
    for key, entries, single in route.getters():
        if single:
            yield key, entries(values), entries(increases)
        else:
            yield key, sum(entries(values)), reduce(add, entries(increases))


def _taker(positions: list[int]) -> Any:
    """A function giving the entries of a list at ``positions``, as a list."""
    if not positions:
        return lambda column: []
    if len(positions) == 1:
        i = positions[0]
        return lambda column: [column[i]]
    getter = itemgetter(*positions)
    return lambda column: list(getter(column))


class RateValues(GroupValues):
    """Rates held as runs of increases and the seconds each run covers: worked out and
    divided only when read, so a collection that finds no group near a threshold makes
    one pass in C (the ``max`` of the increases) and builds nothing."""

    __slots__ = ("_bound", "_learn", "_runs")

    def __init__(
        self,
        keys: Sequence[GroupKey],
        runs: list[_Run],
        positions: dict[GroupKey, int],
        bound: Any = None,
        learn: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(keys, (), positions)
        self._runs = runs
        #: (one run) at least its largest increase, if known; ``learn`` is told the
        #: largest increase when a pass finds it
        self._bound = bound
        self._learn = learn

    def _mapping(self) -> dict[GroupKey, float | None]:
        if self._dict is None:
            found: dict[GroupKey, float | None] = {}
            keys = self._keys
            for run in self._runs:
                covered = run.covered
                # a clock that stepped back covers no span: no rate
                rates = [x / covered for x in run.values()] if covered > 0 else [None] * (run.end - run.first)
                found.update(GroupValues(keys[run.first : run.end], rates)._mapping())
            self._dict = found
        return self._dict

    def get(self, key: GroupKey, default: Any = None) -> Any:
        if self._dict is None and self._positions is not None:
            i = self._positions.get(key)
            if i is not None and i < len(self._keys) and self._keys[i] == key:
                for run in self._runs:
                    if run.first <= i < run.end:
                        if run.covered <= 0:
                            return None
                        value = run.at(i) / run.covered
                        return value if math.isfinite(value) else None
                return default
        return self._mapping().get(key, default)

    def crossing(self, threshold: float, above: bool) -> list[GroupKey]:
        if self._dict is not None:
            return super().crossing(threshold, above)
        out: list[GroupKey] = []
        bound = self._bound
        if above and bound is not None and len(self._runs) == 1:
            covered = self._runs[0].covered
            # the margin covers rounding in the bound's running sum
            if covered > 0 and (bound + abs(bound) * 1e-9) / covered < threshold:
                return out
        for run in self._runs:
            covered = run.covered
            if run.end <= run.first or covered <= 0:
                continue
            if above:
                largest = max(run.values())
                if self._learn is not None:
                    self._learn(largest)
                extreme = largest / covered
            else:
                extreme = min(run.values()) / covered
            if extreme == extreme and (extreme < threshold if above else extreme >= threshold):
                continue
            rates = GroupValues(self._keys[run.first : run.end], [x / covered for x in run.values()])
            out.extend(rates.crossing(threshold, above))
        return out
