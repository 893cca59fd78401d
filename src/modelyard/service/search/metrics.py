"""Metrics from a trial's log, with no code change (docs/contract.md "Logs and metrics").

Each ``reward_attrs[].regex`` is applied to every log line; every match is one step. The
value is the group named ``value`` if there is one, else the first capture group that is
not the one named ``step``. The step is the group named ``step`` if there is one (e.g.
``epoch=(?P<step>\\d+).*?accuracy=([0-9.]+)``), else the number of matches so far. Values
that are not finite numbers are skipped. Lines are matched one at a time, so a scan can
stop at any line end and resume later without seeing a match twice or missing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.runtime.state import read_log
from modelyard.spec.autosearch import Mode, RewardAttr, TrialResult


@dataclass(frozen=True)
class Point:
    step: int
    value: float


class _Matcher:
    def __init__(self, attr: RewardAttr) -> None:
        self.pattern = attr.pattern
        named = self.pattern.groupindex
        self.step_group = named.get("step")
        if "value" in named:
            self.value_group = named["value"]
        else:
            self.value_group = next(i for i in range(1, self.pattern.groups + 1)
                                    if i != self.step_group)

    def points(self, line: str, count: int) -> list[Point]:
        out: list[Point] = []
        for m in self.pattern.finditer(line):
            try:
                value = float(m.group(self.value_group))
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                continue
            step = count + len(out) + 1
            if self.step_group is not None:
                try:
                    step = int(float(m.group(self.step_group)))
                except (TypeError, ValueError):
                    continue
            out.append(Point(step, value))
        return out


@dataclass
class LogScanner:
    """Incremental scanner of one log for several reward attributes."""

    attrs: Sequence[RewardAttr]
    offset: int = 0  # bytes of the log consumed (always at a line end)
    points: dict[str, list[Point]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._matchers = {a.name: _Matcher(a) for a in self.attrs}
        for a in self.attrs:
            self.points.setdefault(a.name, [])

    def feed(self, text: str) -> dict[str, list[Point]]:
        """Scans complete lines of ``text``; returns the new points per attribute."""
        new: dict[str, list[Point]] = {name: [] for name in self._matchers}
        for line in text.splitlines():
            for name, matcher in self._matchers.items():
                found = matcher.points(line, len(self.points[name]))
                self.points[name].extend(found)
                new[name].extend(found)
        return new

    def scan_file(self, path: Path, final: bool = False) -> dict[str, list[Point]]:
        """Reads what the log gained since the last call. Until ``final``, a trailing line
        without its newline is left for the next call (it may still be growing)."""
        data = read_log(path, self.offset, 1 << 30)[0]
        end = len(data) if final else data.rfind(b"\n") + 1
        self.offset += end
        return self.feed(data[:end].decode("utf-8", "replace"))


def scan_text(text: str, attr: RewardAttr) -> list[Point]:
    """Every point of ``attr`` in a whole log."""
    scanner = LogScanner([attr])
    scanner.feed(text)
    return scanner.points[attr.name]


def best(points: Sequence[Point], mode: Mode) -> Point | None:
    if not points:
        return None
    pick = max if mode is Mode.MAX else min
    return pick(points, key=lambda p: p.value)


def trial_value(points: Sequence[Point], mode: Mode, result: TrialResult) -> float | None:
    """The trial's result: its last match, or its best one (``trial_result``)."""
    if not points:
        return None
    if result is TrialResult.BEST:
        chosen = best(points, mode)
        assert chosen is not None
        return chosen.value
    return points[-1].value


def pattern_text(attr: RewardAttr) -> str:
    return attr.regex or attr.pattern.pattern

