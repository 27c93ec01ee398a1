"""The live progress view's output: redrawn in place on a terminal (checked on a small VT100
screen model), appended line by line elsewhere, and never a line written again unchanged."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from typing import Any

import pytest

from search.driver.progress import ProgressView


def _trial(trial_id: str, size: float, status: str, score: float | None = None) -> Any:
    result = {} if score is None else {"selected_dev_f1_weighted": score}
    config = {"in_domain_size": size, "architecture": "two-phase", "strategy": "local", "imbalance": "none"}
    return SimpleNamespace(trial_id=trial_id, config=config, status=status, last_result=result)


class _Stream(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


class _Screen:
    """What a VT100 terminal ``columns`` wide shows after some output (the sequences the view
    uses: CR, LF, cursor up/down, erase line, erase below; long lines wrap)."""

    def __init__(self, columns: int):
        self.columns = columns
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0

    def feed(self, text: str) -> None:
        for token in re.findall(r"\x1b\[(\d*)([ABJK])|(\r)|(\n)|(.)", text, flags=re.S):
            number, command, cr, lf, char = token
            if command == "A":
                self.row, self.col = max(0, self.row - int(number or 1)), min(self.col, self.columns - 1)
            elif command == "B":
                self.row, self.col = self.row + int(number or 1), min(self.col, self.columns - 1)
                assert self.row < len(self.rows), "cursor moved below the text"
            elif command == "K" and number == "2":
                self.rows[self.row] = []
            elif command == "J":
                del self.rows[self.row][self.col :]
                del self.rows[self.row + 1 :]
            elif cr:
                self.col = 0
            elif lf:
                self._down()
            elif char:
                if self.col == self.columns:  # past the last column: wrap
                    self._down()
                line = self.rows[self.row]
                line.extend(" " * (self.col + 1 - len(line)))
                line[self.col] = char
                self.col += 1

    def _down(self) -> None:
        self.row, self.col = self.row + 1, 0
        if self.row == len(self.rows):
            self.rows.append([])

    def lines(self) -> list[str]:
        """The screen's logical lines (wrapped rows joined), stamps cut off, empty rows dropped."""
        text = "".join(
            "".join(r) + ("\n" if len(r) < self.columns else "") for r in self.rows if "".join(r).strip()
        )
        return [re.sub(r"^\[\s*\d+:\d\d\] ", "", line).rstrip() for line in text.splitlines()]


def _view(stream: io.StringIO, builds: list[str], **options: Any) -> ProgressView:
    statuses = {"a": "finished"}
    return ProgressView(
        {"id0.1": 4, "id1": 2},
        "dev_f1_weighted",
        lambda t: statuses.get(t.trial_id),
        stream=stream,
        min_interval=0,
        builds=lambda: list(builds),
        **options,
    )


@pytest.mark.parametrize("columns", [200, 60])  # 60: every size line wraps onto a second row
def test_on_a_terminal_the_view_is_redrawn_in_place_and_unchanged_lines_are_left_alone(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    stream, builds = _Stream(terminal=True), ["phase-1 features (none): 1,000/7,000 sentences"]
    view = _view(stream, builds)
    screen = _Screen(columns)
    steps = [
        [_trial("a", 0.1, "RUNNING"), _trial("x", 1.0, "PENDING")],
        [_trial("a", 0.1, "RUNNING"), _trial("x", 1.0, "PENDING")],  # only the build moved on
        [_trial("a", 0.1, "RUNNING"), _trial("x", 1.0, "RUNNING")],  # 100% changed, then the build ended
        [_trial("a", 0.1, "TERMINATED", 0.61), _trial("x", 1.0, "RUNNING")],
    ]
    for n, trials in enumerate(steps):
        if n == 1:
            builds[0] = "phase-1 features (none): 4,000/7,000 sentences"
        if n == 2:
            builds.clear()
        before = stream.tell()
        view.show(trials)
        written = stream.getvalue()[before:]
        screen.feed(written)
        expected = [line.split("] ", 1)[1] for line in _plain(view, trials)]
        assert screen.lines() == expected, (n, written)
        if n == 1:  # the sizes did not change: only the build's line was written
            assert "10% " not in written and "100%" not in written and "4,000/7,000" in written
        if n == 2:
            assert "10% " not in written and "100%" in written and "building" not in written
    view.show(steps[-1])  # nothing changed: nothing written
    assert stream.getvalue().endswith(written)
    view.show(steps[-1], force=True, final=True)
    final = _Screen(columns)
    final.feed(stream.getvalue())
    assert final.lines()[-1] == "sweep over" and len(final.lines()) == 3  # one block, no copies
    assert stream.getvalue().count("ended   1/4") == 1  # each state of a line written once


def _plain(view: ProgressView, trials: list[Any]) -> list[str]:
    """The view as a plain (non-terminal) first look would write it."""
    plain = _Stream(terminal=False)
    ProgressView(
        view.budgets, view.metric, view.status_of, stream=plain, min_interval=0, builds=view.builds
    ).show(trials)
    return plain.getvalue().splitlines()


def test_elsewhere_only_changed_lines_are_appended_and_a_build_now_and_then() -> None:
    stream, builds = _Stream(terminal=False), ["phase-1 features (none): 1,000/7,000 sentences"]
    view = _view(stream, builds, log_interval=3600)
    assert not view.terminal
    running = [_trial("a", 0.1, "RUNNING"), _trial("x", 1.0, "PENDING")]
    view.show(running)
    first = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1].split()[0] for line in first] == ["10%", "100%", "building"]
    assert "\x1b" not in stream.getvalue()  # no terminal sequences in a log

    builds[0] = "phase-1 features (none): 4,000/7,000 sentences"
    view.show(running)  # the build moved on within log_interval: nothing new to say
    assert stream.getvalue().splitlines() == first
    builds.append("encoder (minilm): 10/100 sentences")  # a new build: its line
    view.show([_trial("a", 0.1, "TERMINATED", 0.61), _trial("x", 1.0, "PENDING")])
    added = stream.getvalue().splitlines()[len(first) :]
    assert len(added) == 2 and "10%   ended   1/4" in added[0] and "building encoder" in added[1]

    view.show([_trial("a", 0.1, "TERMINATED", 0.61), _trial("x", 1.0, "PENDING")], force=True, final=True)
    last = stream.getvalue().splitlines()[len(first) + 2 :]
    # The last view is written whole: every size's final count, then "sweep over".
    assert [line.split("] ", 1)[1].split()[0] for line in last] == ["10%", "100%", "sweep"]


def test_a_stream_that_is_not_a_terminal_or_a_dumb_one_gets_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _view(_Stream(terminal=True), []).terminal
    assert not _view(io.StringIO(), []).terminal  # StringIO.isatty() is False
    monkeypatch.setenv("TERM", "dumb")
    assert not _view(_Stream(terminal=True), []).terminal


def test_the_look_at_running_builds_runs_beside_the_loop_and_keeps_its_last_answer() -> None:
    """A look that takes long (a listing in object storage) does not hold the caller: it gets the
    last answer at once; a new look starts at most every ``every`` seconds and one at a time; a
    look that fails leaves the last answer shown."""
    import threading

    from search.driver.progress import LatestLook

    now = [0.0]
    gates = [threading.Event() for _ in range(3)]
    answers: list[Any] = [["a"], RuntimeError("storage"), ["c"]]
    looks: list[str] = []

    def look() -> list[str]:
        n = len(looks)
        looks.append(threading.current_thread().name)
        assert gates[n].wait(10)
        if isinstance(answers[n], Exception):
            raise answers[n]
        return answers[n]

    def finish(n: int) -> None:
        gates[n].set()
        assert builds._running is not None
        builds._running.join(10)

    builds = LatestLook(look, every=2.0, initial=["before"], clock=lambda: now[0])
    assert builds() == ["before"]  # returned at once: the first look is still listing
    now[0] = 5.0
    assert builds() == ["before"] and looks == ["resweep-look"]  # one look at a time
    finish(0)
    assert builds() == ["a"] and len(looks) == 2  # the answer, and the next look, as 2 s went by
    finish(1)
    now[0] = 6.0
    assert builds() == ["a"], "a failed look replaced the last answer"
    assert len(looks) == 2  # within 2 s of the last look's start
    now[0] = 7.0
    builds()
    finish(2)
    assert builds() == ["c"] and len(looks) == 3
