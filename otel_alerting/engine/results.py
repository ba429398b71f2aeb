"""One rule's values per alert group, as the evaluator hands them to the manager.

Most groups hold no threshold: the manager only needs the values of the few groups that
cross the rule's lowest threshold and of the groups it already tracks. So a rule's
values are kept as the two columns the evaluator worked them out in (group keys,
values) and looked at in C (``max``/``min`` of the column) rather than turned into a
dict per collection; the dict is built only when someone reads the whole mapping.

A value that is not finite (NaN, infinity) reads as no data (None), whichever way it
is read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import reduce as fold_left
from operator import add
from typing import Any

__all__ = ["NO_VALUES", "GroupKey", "GroupValues", "GroupedValues", "reduce_group"]

#: the values of a rule's ``by`` attributes, in the rule's order
GroupKey = tuple[str, ...]

_INF = math.inf


def _float(value: float | None) -> float | None:
    """A value as rules report it: a finite float, or None (no data)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class GroupValues(Mapping[GroupKey, "float | None"]):
    """A read-only mapping of group key -> value (None: no data).

    ``keys`` and ``values`` are parallel columns and must not be changed afterwards;
    ``positions`` (optional, may hold more keys than the columns) gives a key's
    position, for ``get`` without building the dict.
    """

    __slots__ = ("_dict", "_keys", "_positions", "_values")

    def __init__(
        self,
        keys: Sequence[GroupKey],
        values: Sequence[Any],
        positions: Mapping[GroupKey, int] | None = None,
    ) -> None:
        self._keys = keys
        self._values = values
        self._positions = positions
        self._dict: dict[GroupKey, float | None] | None = None

    @classmethod
    def of(cls, values: Mapping[GroupKey, float | None]) -> GroupValues:
        """The same mapping as ``values`` (a dict, or another GroupValues)."""
        if isinstance(values, GroupValues):
            return values
        found = cls((), ())
        found._dict = _finite(dict(values))
        return found

    def _mapping(self) -> dict[GroupKey, float | None]:
        found = self._dict
        if found is None:
            found = self._dict = dict(zip(self._keys, map(_float, self._values)))
        return found

    def __getitem__(self, key: GroupKey) -> float | None:
        return self._mapping()[key]

    def get(self, key: GroupKey, default: Any = None) -> Any:
        positions = self._positions
        if self._dict is None and positions is not None:
            i = positions.get(key)
            if i is None or i >= len(self._values):
                return default
            if self._keys[i] != key:  # positions of a newer column than ours
                return self._mapping().get(key, default)
            return _float(self._values[i])
        return self._mapping().get(key, default)

    def __iter__(self) -> Iterator[GroupKey]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __contains__(self, key: object) -> bool:
        return key in self._mapping()

    def __repr__(self) -> str:
        return f"GroupValues({self._mapping()!r})"

    def crossing(self, threshold: float, above: bool) -> list[GroupKey]:
        """Groups whose value (finite) is at or above ``threshold`` (``above``), or below it."""
        found = self._dict
        if found is not None:
            if above:
                return [k for k, v in found.items() if v is not None and v >= threshold]
            return [k for k, v in found.items() if v is not None and v < threshold]
        values = self._values
        if not values:
            return []
        # One pass in C finds that no group crosses, the common case. ``max`` and ``min``
        # are exact once their running value is not NaN: a NaN result (the first value
        # was NaN) or a column holding None takes the scan below.
        try:
            extreme = max(values) if above else min(values)
        except TypeError:  # None among the values (no data)
            extreme = math.nan
        if extreme == extreme and (extreme < threshold if above else extreme >= threshold):
            return []
        keys = self._keys
        if above:
            return [k for k, v in zip(keys, values) if v is not None and threshold <= v < _INF]
        return [k for k, v in zip(keys, values) if v is not None and -_INF < v < threshold]


#: the values of a rule without any group (one object: callers may test identity)
NO_VALUES = GroupValues((), ())


def _finite(values: dict[GroupKey, Any]) -> dict[GroupKey, float | None]:
    # every value finite (None and 0 are filtered out first): the dict as it is
    if all(map(math.isfinite, filter(None, values.values()))):
        return values
    return {k: (v if v is None or math.isfinite(v) else None) for k, v in values.items()}


def reduce_group(reduce: str, values: Sequence[Any]) -> Any:
    """A group's value from its series' values in order: ``sum`` and ``avg`` add them
    in order (as a running total would), ``last`` is the last one."""
    if reduce == "sum":
        return fold_left(add, values)
    if reduce == "avg":
        return fold_left(add, values) / len(values)
    if reduce == "max":
        return max(values)
    if reduce == "min":
        return min(values)
    return values[-1]


#: reductions whose value lies between the smallest and the largest of the series
_BETWEEN = frozenset({"last", "max", "min", "avg"})


class GroupedValues(GroupValues):
    """A ``value`` rule's groups of several series each, reduced when read.

    ``groups``: per group (key, a getter of its entries from ``values``, whether it has
    one entry), as ``Route.getters`` gives them. A group reduced by ``last``, ``max``,
    ``min`` or ``avg`` lies between the smallest and the largest of all values: when
    that already says no group crosses, nothing is reduced.
    """

    __slots__ = ("_groups", "_reduce")

    def __init__(
        self,
        groups: Sequence[tuple[GroupKey, Callable[[Any], Any], bool]],
        values: Sequence[Any],
        reduce: str,
        positions: Mapping[GroupKey, int],
    ) -> None:
        super().__init__((), values, positions)
        self._groups = groups
        self._reduce = reduce

    def _value(self, i: int) -> Any:
        _, entries, single = self._groups[i]
        found = entries(self._values)
        return found if single else reduce_group(self._reduce, found)

    def _mapping(self) -> dict[GroupKey, float | None]:
        found = self._dict
        if found is None:
            values, reduce = self._values, self._reduce
            found = self._dict = {
                key: _float(entries(values) if single else reduce_group(reduce, entries(values)))
                for key, entries, single in self._groups
            }
        return found

    def get(self, key: GroupKey, default: Any = None) -> Any:
        positions = self._positions
        if self._dict is None and positions is not None:
            i = positions.get(key)
            return default if i is None else _float(self._value(i))
        return self._mapping().get(key, default)

    def crossing(self, threshold: float, above: bool) -> list[GroupKey]:
        values = self._values
        if self._dict is None and values and self._reduce in _BETWEEN:
            extreme = max(values) if above else min(values)
            # a margin for an average that rounds past the largest (or smallest) value
            margin = abs(extreme) * 1e-12
            if extreme == extreme and (extreme + margin < threshold if above else extreme - margin >= threshold):
                return []
        self._mapping()
        return super().crossing(threshold, above)
