"""Dynamic batching: many callers' items, one inference owner.

Each submitted item gets a Future and joins a bounded queue. A worker thread (one, or one
per core when the runtime lets several run the model at once) waits for the first item,
then collects more until `max_batch_size` items are queued or
`max_queue_delay_ms` has passed since that first item arrived, runs them as one batch and
hands each caller its own result. Items whose caller gave up (cancelled) or whose deadline
passed are dropped before they reach the model. If a batch fails, its items are retried one
by one so a single bad item cannot fail its batch-mates.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import Expired, NotReady, Overloaded

log = logging.getLogger(__name__)

RunBatch = Callable[[list[Any]], Sequence[Any]]


@dataclass
class _Item:
    payload: Any
    future: Future
    enqueued_at: float
    deadline: float | None  # time.monotonic() value, or None for no deadline


@dataclass
class BatchStats:
    """Counters for benchmarks and metrics; updated by the workers under the batcher's lock."""

    batches: int = 0
    items: int = 0
    expired: int = 0
    cancelled: int = 0
    batch_sizes: collections.Counter = field(default_factory=collections.Counter)


class DynamicBatcher:
    def __init__(self, run_batch: RunBatch, max_batch_size: int, max_queue_delay_ms: float,
                 max_queue_size: int,
                 on_batch: Callable[[int, list[float]], None] | None = None,
                 workers: int = 1, on_worker_lost: Callable[[], None] | None = None) -> None:
        if max_batch_size < 1 or max_queue_size < 1 or max_queue_delay_ms < 0 or workers < 1:
            raise ValueError("max_batch_size, max_queue_size and workers must be >= 1, delay >= 0")
        self.workers = workers
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self._max_delay_s = max_queue_delay_ms / 1000.0
        self.max_queue_size = max_queue_size
        self._on_batch = on_batch
        self._on_worker_lost = on_worker_lost
        self._queue: collections.deque[_Item] = collections.deque()
        self._ready = threading.Condition()
        self._running = False
        self._threads: list[threading.Thread] = []
        self._stats_lock = threading.Lock()
        self.stats = BatchStats()

    def start(self) -> None:
        with self._ready:
            if self._running:
                return
            self._running = True
        self._threads = [threading.Thread(target=self._serve, name=f"batcher-{n}", daemon=True)
                         for n in range(self.workers)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Finish everything already queued, then stop the worker."""
        with self._ready:
            self._running = False
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def queue_depth(self) -> int:
        with self._ready:
            return len(self._queue)

    def submit(self, payloads: Sequence[Any], deadline: float | None = None) -> list[Future]:
        """Queue all payloads or none; raise Overloaded when they do not fit."""
        now = time.monotonic()
        items = [_Item(p, Future(), now, deadline) for p in payloads]
        with self._ready:
            if not self._running:
                raise NotReady("the batcher is not running (starting up or shutting down)")
            if len(self._queue) + len(items) > self.max_queue_size:
                raise Overloaded(
                    f"classifier queue full ({len(self._queue)} of {self.max_queue_size} "
                    f"crops queued, {len(items)} more asked): retry with backoff or add replicas"
                )
            self._queue.extend(items)
            self._ready.notify()
        return [item.future for item in items]

    def _next_batch(self) -> list[_Item] | None:
        with self._ready:
            while not self._queue:
                if not self._running:
                    return None
                self._ready.wait()
            # The first item fixes when the batch closes; later arrivals ride along.
            close_at = self._queue[0].enqueued_at + self._max_delay_s
            while len(self._queue) < self.max_batch_size and self._running:
                remaining = close_at - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            count = min(self.max_batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _serve(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                try:
                    live = self._drop_dead(batch)
                    if live:
                        self._run(live)
                except Exception as error:
                    log.exception("batch of %d failed outside the model call", len(batch))
                    for item in batch:
                        _fail(item, error)
                except BaseException:
                    for item in batch:  # their callers must not wait for a dead worker
                        _fail(item, NotReady("the classifier's inference worker stopped"))
                    raise
        finally:
            self._worker_exited()

    def _worker_exited(self) -> None:
        with self._ready:
            lost = self._running  # not a stop(): something killed the worker
            if lost and not any(t.is_alive() for t in self._threads
                                if t is not threading.current_thread()):
                self._running = False  # no worker left: refuse work instead of queueing it
                stranded = list(self._queue)
                self._queue.clear()
            else:
                stranded = []
        for item in stranded:
            _fail(item, NotReady("the classifier's inference workers stopped"))
        if lost:
            log.error("a batcher worker stopped unexpectedly")
            if self._on_worker_lost is not None:
                self._on_worker_lost()

    @property
    def alive(self) -> bool:
        """Whether a worker is still serving (false before start and after stop)."""
        return any(t.is_alive() for t in self._threads)

    def _drop_dead(self, batch: list[_Item]) -> list[_Item]:
        now = time.monotonic()
        live = []
        for item in batch:
            if not item.future.set_running_or_notify_cancel():
                with self._stats_lock:
                    self.stats.cancelled += 1
            elif item.deadline is not None and now >= item.deadline:
                with self._stats_lock:
                    self.stats.expired += 1
                item.future.set_exception(Expired("deadline passed while queued for the classifier"))
            else:
                live.append(item)
        return live

    def _run(self, batch: list[_Item]) -> None:
        started = time.monotonic()
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.items += len(batch)
            self.stats.batch_sizes[len(batch)] += 1
        if self._on_batch is not None:
            self._on_batch(len(batch), [started - item.enqueued_at for item in batch])
        try:
            results = list(self._run_batch([item.payload for item in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"the model returned {len(results)} results for "
                                   f"{len(batch)} inputs")
        except Exception as error:  # noqa: BLE001 - isolate the failing item below
            if len(batch) == 1:
                _fail(batch[0], error)
                return
            log.warning("batch of %d failed; retrying its items one by one", len(batch))
            for item in batch:
                if item.deadline is not None and time.monotonic() >= item.deadline:
                    with self._stats_lock:
                        self.stats.expired += 1
                    _fail(item, Expired("deadline passed while the classifier retried its batch"))
                else:
                    self._run_one(item)
            return
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)

    def _run_one(self, item: _Item) -> None:
        try:
            results = self._run_batch([item.payload])
            if len(results) != 1:
                raise RuntimeError(f"the model returned {len(results)} results for 1 input")
            item.future.set_result(results[0])
        except Exception as error:  # noqa: BLE001 - the caller receives it
            _fail(item, error)


def _fail(item: _Item, error: BaseException) -> None:
    """Hand the caller `error`, unless it already has an answer or gave up."""
    if not item.future.done():
        with contextlib.suppress(InvalidStateError):  # cancelled or answered meanwhile
            item.future.set_exception(error)
