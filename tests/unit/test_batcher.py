"""DynamicBatcher on its own, with a plain function standing in for the model."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.classifier.batcher import DynamicBatcher
from services.common.errors import Expired, Overloaded


class Recorder:
    """A run function that doubles numbers, records batches, and can be held or fail."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, payloads):
        self.entered.set()
        self.release.wait()
        self.batches.append(list(payloads))
        if any(p == "bad" for p in payloads):
            raise ValueError("bad item")
        return [p * 2 for p in payloads]


@pytest.fixture
def recorder():
    return Recorder()


def make(recorder, **overrides):
    settings = dict(max_batch_size=8, max_queue_delay_ms=20, max_queue_size=64)
    settings.update(overrides)
    batcher = DynamicBatcher(recorder, **settings)
    batcher.start()
    return batcher


def test_concurrent_callers_share_batches(recorder):
    batcher = make(recorder, max_queue_delay_ms=50)
    try:
        with ThreadPoolExecutor(16) as pool:
            futures = list(pool.map(lambda i: batcher.submit([i])[0], range(16)))
            results = [f.result(timeout=5) for f in futures]
    finally:
        batcher.stop()
    assert results == [i * 2 for i in range(16)]
    assert len(recorder.batches) < 16
    assert max(len(b) for b in recorder.batches) > 1
    assert all(len(b) <= 8 for b in recorder.batches)
    assert sum(batcher.stats.batch_sizes.values()) == len(recorder.batches)


def test_results_keep_request_order_across_batches(recorder):
    batcher = make(recorder, max_batch_size=3)
    try:
        futures = batcher.submit(list(range(10)))
        assert [f.result(timeout=5) for f in futures] == [i * 2 for i in range(10)]
    finally:
        batcher.stop()
    assert [len(b) for b in recorder.batches] == [3, 3, 3, 1]


def test_full_queue_rejects_the_whole_request(recorder):
    recorder.release.clear()  # the worker holds its first batch
    batcher = make(recorder, max_batch_size=1, max_queue_delay_ms=0, max_queue_size=4)
    try:
        first = batcher.submit([1])
        assert recorder.entered.wait(5)
        queued = batcher.submit([2, 3, 4, 5])
        with pytest.raises(Overloaded, match="queue full"):
            batcher.submit([6])
        assert batcher.queue_depth() == 4
        recorder.release.set()
        assert [f.result(timeout=5) for f in first + queued] == [2, 4, 6, 8, 10]
    finally:
        recorder.release.set()
        batcher.stop()


def test_one_bad_item_does_not_fail_its_batch_mates(recorder):
    recorder.release.clear()
    batcher = make(recorder, max_batch_size=8, max_queue_delay_ms=100)
    try:
        good = batcher.submit([1, 2])
        bad = batcher.submit(["bad"])
        more = batcher.submit([3])
        recorder.release.set()
        assert [f.result(timeout=5) for f in good + more] == [2, 4, 6]
        with pytest.raises(ValueError, match="bad item"):
            bad[0].result(timeout=5)
    finally:
        batcher.stop()
    assert len(recorder.batches[0]) == 4  # they did share a batch first


def test_expired_and_cancelled_items_never_reach_the_model(recorder):
    recorder.release.clear()
    batcher = make(recorder, max_batch_size=1, max_queue_delay_ms=0)
    try:
        blocker = batcher.submit([1])
        assert recorder.entered.wait(5)
        expired = batcher.submit([2], deadline=time.monotonic() + 0.01)
        cancelled = batcher.submit([3])
        assert cancelled[0].cancel()
        time.sleep(0.05)
        recorder.release.set()
        assert blocker[0].result(timeout=5) == 2
        with pytest.raises(Expired):
            expired[0].result(timeout=5)
    finally:
        batcher.stop()
    assert recorder.batches == [[1]]
    assert batcher.stats.expired == 1 and batcher.stats.cancelled == 1


def test_stop_finishes_queued_work_then_refuses(recorder):
    batcher = make(recorder, max_queue_delay_ms=200)
    futures = batcher.submit([1, 2, 3])
    batcher.stop()
    assert [f.result(timeout=1) for f in futures] == [2, 4, 6]
    with pytest.raises(Exception, match="not running"):
        batcher.submit([4])


def test_a_failing_batch_callback_fails_its_items_and_the_worker_goes_on(recorder):
    calls = []

    def on_batch(size, waits):
        calls.append(size)
        if len(calls) == 1:
            raise RuntimeError("metrics backend down")

    batcher = make(recorder, max_queue_delay_ms=0, on_batch=on_batch)
    try:
        first = batcher.submit([1])
        with pytest.raises(RuntimeError, match="metrics backend down"):
            first[0].result(timeout=5)
        assert batcher.submit([2])[0].result(timeout=5) == 4  # still serving
        assert batcher.alive
    finally:
        batcher.stop()


def test_a_model_returning_the_wrong_number_of_results_fails_only_that_call():
    def short_by_one(payloads):
        return [p * 2 for p in payloads][:-1] if len(payloads) > 1 else [payloads[0] * 2]

    batcher = DynamicBatcher(short_by_one, max_batch_size=8, max_queue_delay_ms=50,
                             max_queue_size=64)
    batcher.start()
    try:
        futures = batcher.submit([1, 2, 3])  # one batch: 2 results for 3 inputs
        # The batch is retried item by item, where the model answers right.
        assert [f.result(timeout=5) for f in futures] == [2, 4, 6]
        assert batcher.alive
    finally:
        batcher.stop()


def test_items_whose_deadline_passed_during_a_failed_batch_are_not_retried():
    seen = []

    def slow_then_failing(payloads):
        seen.append(list(payloads))
        if len(payloads) > 1:
            time.sleep(0.1)  # the short deadline passes meanwhile
            raise ValueError("batch failed")
        return [p * 2 for p in payloads]

    batcher = DynamicBatcher(slow_then_failing, max_batch_size=8, max_queue_delay_ms=50,
                             max_queue_size=64)
    batcher.start()
    try:
        patient = batcher.submit([1])
        hurried = batcher.submit([2], deadline=time.monotonic() + 0.08)
        assert patient[0].result(timeout=5) == 2
        with pytest.raises(Expired):
            hurried[0].result(timeout=5)
    finally:
        batcher.stop()
    assert seen == [[1, 2], [1]]  # the expired item never ran again


class WorkerKiller(BaseException):
    """Not an Exception: what a worker cannot catch for its items (think MemoryError's
    cousins, or a C extension's abort surfacing as SystemExit)."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # intended
def test_a_dead_worker_refuses_work_and_reports_itself_lost():
    lost = threading.Event()

    def fatal(payloads):
        raise WorkerKiller()

    batcher = DynamicBatcher(fatal, max_batch_size=8, max_queue_delay_ms=0, max_queue_size=64,
                             on_worker_lost=lost.set)
    batcher.start()
    in_flight = batcher.submit([1])
    assert lost.wait(5)
    with pytest.raises(Exception, match="worker stopped"):
        in_flight[0].result(timeout=5)
    deadline = time.monotonic() + 5
    while batcher.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not batcher.alive
    with pytest.raises(Exception, match="not running"):
        batcher.submit([2])
