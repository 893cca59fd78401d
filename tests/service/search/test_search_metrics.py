"""Metrics from logs: every regex match is one step; lines are matched once, even when a
scan stops in the middle of a line that is still being written."""

from __future__ import annotations

from pathlib import Path

from modelyard.service.search.metrics import LogScanner, Point, best, scan_text, trial_value
from modelyard.spec.autosearch import Mode, RewardAttr, TrialResult

DIGITS_LOG = """loaded 1797 samples from 2 files
epoch=1 loss=0.9000 accuracy=0.8000
epoch=2 loss=0.5000 accuracy=0.9100
epoch=3 loss=0.4000 accuracy=0.9000
accuracy=0.9000
"""


def test_first_group_is_the_value_and_every_match_a_step() -> None:
    attr = RewardAttr(name="accuracy", regex=r"accuracy=([0-9.]+)")
    assert scan_text(DIGITS_LOG, attr) == [Point(1, 0.8), Point(2, 0.91), Point(3, 0.9),
                                           Point(4, 0.9)]


def test_named_step_group() -> None:
    attr = RewardAttr(name="accuracy", regex=r"epoch=(?P<step>\d+) .*accuracy=([0-9.]+)")
    assert scan_text(DIGITS_LOG, attr) == [Point(1, 0.8), Point(2, 0.91), Point(3, 0.9)]


def test_named_value_group_and_several_matches_per_line() -> None:
    attr = RewardAttr(name="loss", regex=r"(?P<tag>\w+)_loss=(?P<value>[0-9.]+)")
    assert [p.value for p in scan_text("a_loss=1 b_loss=2\nc_loss=3\n", attr)] == [1, 2, 3]


def test_default_regex_and_non_numbers() -> None:
    attr = RewardAttr(name="loss", mode="min")
    text = "loss=nan\nloss: 0.5\nloss = inf\nthe loss 0.25 now\n"
    assert scan_text(text, attr) == [Point(1, 0.5), Point(2, 0.25)]


def test_incremental_scan_never_splits_a_line(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    attr = RewardAttr(name="acc", regex=r"acc=([0-9.]+)")
    scanner = LogScanner([attr])
    log.write_text("acc=0.1\nacc=0.2")  # the second line is still being written
    assert scanner.scan_file(log)["acc"] == [Point(1, 0.1)]
    with log.open("a") as fh:
        fh.write("5\nacc=0.3\n")
    assert scanner.scan_file(log)["acc"] == [Point(2, 0.25), Point(3, 0.3)]
    assert scanner.scan_file(log)["acc"] == []
    with log.open("a") as fh:
        fh.write("acc=0.4")  # the job ended without a final newline
    assert scanner.scan_file(log, final=True)["acc"] == [Point(4, 0.4)]
    assert LogScanner([attr]).scan_file(tmp_path / "missing.log")["acc"] == []


def test_trial_value_last_or_best() -> None:
    points = [Point(1, 0.5), Point(2, 0.9), Point(3, 0.7)]
    assert trial_value(points, Mode.MAX, TrialResult.LAST) == 0.7
    assert trial_value(points, Mode.MAX, TrialResult.BEST) == 0.9
    assert trial_value(points, Mode.MIN, TrialResult.BEST) == 0.5
    assert trial_value([], Mode.MAX, TrialResult.LAST) is None
    assert best(points, Mode.MIN) == Point(1, 0.5)
