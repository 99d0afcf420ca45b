"""worked_ahead: a stream's next items worked on while the caller handles the last."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.common.ahead import worked_ahead

WORKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ahead-under-test")


def test_answers_come_in_order_and_the_next_item_is_worked_on_meanwhile():
    worked = {index: threading.Event() for index in range(5)}

    def work(item: int) -> int:
        worked[item].set()
        return item * item

    answers = []
    for item, answer in worked_ahead(range(5), work, WORKERS):
        if item + 1 in worked:  # the caller holds this answer: the next is found anyway
            assert worked[item + 1].wait(timeout=10)
        answers.append((item, answer))
    assert answers == [(i, i * i) for i in range(5)]


def test_a_failed_item_is_answered_with_its_error_and_the_stream_goes_on():
    def work(item: int) -> int:
        if item == 1:
            raise ValueError("frame 1 is corrupt")
        return item

    answers = list(worked_ahead(range(3), work, WORKERS))
    assert answers[0] == (0, 0) and answers[2] == (2, 2)
    assert isinstance(answers[1][1], ValueError) and "corrupt" in str(answers[1][1])


def test_a_broken_source_is_raised_after_the_answers_before_it():
    def items():
        yield 0
        yield 1
        raise ConnectionError("the caller went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for item, answer in worked_ahead(items(), lambda item: item + 10, WORKERS):
            seen.append(answer)
    assert seen == [10, 11]


def test_a_caller_that_stops_early_frees_its_worker():
    taken = []

    def endless():
        for index in itertools.count():
            taken.append(index)
            yield index

    workers = ThreadPoolExecutor(max_workers=1)
    for item, _ in worked_ahead(endless(), lambda item: item, workers):
        if item == 2:
            break
    # The one worker is free again: the next caller is served.
    assert [answer for _, answer in worked_ahead(range(3), lambda item: -item, workers)] == [
        0, -1, -2]
    assert len(taken) <= 6  # the items at hand when the first caller left, no more
