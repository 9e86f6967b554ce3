"""Durations, rates and clock times as people write them.

``20s``, ``4min``, ``8h``, ``2d``, ``1h30min`` → seconds; ``120/h``, ``2.5/min`` →
contacts per second; ``08:30`` → seconds after midnight. A bare number is taken
as seconds (durations) or per hour (rates), which is what a planner means when a
spreadsheet cell says ``120``.
"""
from __future__ import annotations

import math
import re

_UNIT_S = {
    "ms": 0.001,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "wk": 604800.0, "week": 604800.0, "weeks": 604800.0,
}
_NUM = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_PART = re.compile(rf"\s*({_NUM})\s*([a-zA-Z]+)\s*")
MIN_DURATION_S = 1e-3  # a duration is 0 or at least 1ms (smaller ones are typos or underflow)
MAX_DURATION_S = 1e12  # about 31,700 years: anything longer is a typo or an overflow waiting to happen
MAX_RATE_PER_S = 1e9
DURATION_HELP = "a finite duration >= 0 (0, or 1ms to 1e12 s) such as 20s, 4min, 1.5h, 2d, 1h30min or a number of seconds"
RATE_HELP = "a finite rate >= 0 (at most 1e9/s) such as 120/h, 2.5/min, 0.04/s, 3000/d or a number per hour"
CLOCK_HELP = "a clock time HH:MM (00:00 to 24:00)"


def parse_duration(value: object) -> float:
    """Return ``value`` as seconds; raise ValueError naming what is allowed."""
    seconds = _parse_duration(value)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION_S or 0 < seconds < MIN_DURATION_S:
        raise ValueError(DURATION_HELP)
    return seconds


def _parse_duration(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(DURATION_HELP)
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(DURATION_HELP)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m or m.group(2).lower() not in _UNIT_S:
            raise ValueError(DURATION_HELP)
        total += float(m.group(1)) * _UNIT_S[m.group(2).lower()]
        pos = m.end()
    return total


def parse_rate(value: object) -> float:
    """Return ``value`` as events per second (a bare number is per hour)."""
    rate = _parse_rate(value)
    if not math.isfinite(rate) or rate < 0 or rate > MAX_RATE_PER_S:
        raise ValueError(RATE_HELP)
    return rate


def _parse_rate(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(RATE_HELP)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(RATE_HELP)
        return float(value) / 3600.0
    if not isinstance(value, str) or "/" not in value:
        if isinstance(value, str):
            try:
                count = float(value)
            except ValueError:
                count = -1.0
            if count >= 0:
                return count / 3600.0
        raise ValueError(RATE_HELP)
    count_text, per_text = value.split("/", 1)
    try:
        count = float(count_text)
    except ValueError:
        raise ValueError(RATE_HELP) from None
    per_text = per_text.strip()
    if per_text and per_text[0].isalpha():
        per_text = "1" + per_text
    try:
        per_s = parse_duration(per_text)
    except ValueError:
        raise ValueError(RATE_HELP) from None
    if per_s <= 0 or count < 0:
        raise ValueError(RATE_HELP)
    return count / per_s


def parse_clock(value: object) -> float:
    """Return a clock time ``HH:MM`` (or ``HH:MM:SS``) as seconds after midnight."""
    if not isinstance(value, str):
        raise ValueError(CLOCK_HELP)
    parts = value.strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(CLOCK_HELP) from None
    if len(nums) not in (2, 3) or not 0 <= nums[0] <= 24 or not all(0 <= n < 60 for n in nums[1:]):
        raise ValueError(CLOCK_HELP)
    seconds = nums[0] * 3600 + nums[1] * 60 + (nums[2] if len(nums) == 3 else 0)
    if seconds > 86400:
        raise ValueError(CLOCK_HELP)
    return float(seconds)


def format_duration(seconds: float) -> str:
    """Readable form of a duration that parses back to exactly the same float."""
    if seconds == 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{_number(seconds)}s"


def format_rate(per_s: float) -> str:
    """Readable form of a rate (per hour when that is exact) that parses back exactly."""
    per_h = per_s * 3600.0
    if per_h / 3600.0 == per_s:
        return f"{_number(per_h)}/h"
    return f"{_number(per_s)}/s"


def _number(x: float) -> str:
    """Shortest text that reads back as exactly ``x`` (no exponent for whole numbers)."""
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))
