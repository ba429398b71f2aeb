"""Durations as Prometheus writes them (``30s``, ``5m``, ``1h30m``) or plain seconds."""

from __future__ import annotations

import math
import re

__all__ = ["MAX_DURATION_S", "DurationTooLong", "format_duration", "parse_duration", "positive_duration"]

#: the longest duration any setting or rules file may give: 365 days. Timers cannot wait
#: longer than ``threading.TIMEOUT_MAX`` (``1e30`` ends in OverflowError in a thread that
#: then dies), and a year is already longer than any ``for``, window or repeat interval
#: that makes sense.
MAX_DURATION_S = 365 * 86400.0


class DurationTooLong(ValueError):
    """A duration longer than ``MAX_DURATION_S``: its message names the maximum."""


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: object) -> float:
    """Seconds in ``text``, from 0 to ``MAX_DURATION_S``; raises ValueError naming the
    bad value."""
    if isinstance(text, bool):
        raise ValueError(f"invalid duration {text!r}")
    if isinstance(text, int) and abs(text) >= 2**1000:  # too large for a float, and to show
        raise DurationTooLong("invalid duration: longer than the maximum of 365d")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        raw = str(text).strip()
        try:
            seconds = float(raw)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(raw):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(raw) or not raw:
                raise ValueError(f"invalid duration {_shown(raw)} (expected e.g. 30s, 5m, 1h or seconds)") from None
    # Reject NaN and infinity too ("inf" and YAML's ".inf" parse as floats): an
    # infinite `for` or cooldown silently means "never", which is never what was meant.
    if not 0 <= seconds < math.inf:
        raise ValueError(f"invalid duration {_shown(text)}: must be a finite, non-negative number of seconds")
    if seconds > MAX_DURATION_S:
        raise DurationTooLong(f"invalid duration {_shown(text)}: longer than the maximum of 365d")
    return seconds


def _shown(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error quotes what it refused,
    not a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def positive_duration(text: object) -> float | None:
    """Seconds in ``text`` if it is a duration longer than zero (and at most
    ``MAX_DURATION_S``), else None: the rule of every timeout and interval setting,
    whose callers word their own error."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        return None
    # parse_duration refuses negatives, inf and NaN already; the range is spelt out here
    # as well so that this rule does not silently widen if that one ever does
    if seconds <= 0:
        return None
    return seconds if seconds < math.inf else None  # pragma: no mutate (equivalent: inf never gets here)


def format_duration(seconds: float) -> str:
    """A short human form: ``90.0`` -> ``1m30s``, ``0.25`` -> ``250ms``, ``12.34`` -> ``12.3s``.

    Under a minute a fraction keeps three significant digits (``fired_for`` is fractional);
    from a minute on, whole seconds. A value that rounds up to the next unit is shown in it
    (``59.99`` -> ``1m``, not ``60s``).
    """
    if seconds == 0:
        return "0s"
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    shown = float(f"{seconds:.3g}")
    if shown < 60:
        return f"{shown:g}s"  # 1.5s, not 2s
    whole = round(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            out.append(f"{whole // size}{unit}")
            whole %= size
    if whole or not out:
        out.append(f"{whole}s")
    return "".join(out)
