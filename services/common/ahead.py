"""Work on a stream's next item while the caller still handles the last one."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

_END = object()
_POLL_S = 0.1  # how soon a put waiting on a caller that left notices it


class _AheadWorker(Generic[Item, Answer]):
    """The thread's side: works through the items, hands each answer over one at a time."""

    def __init__(self, items: Iterable[Item], work: Callable[[Item], Answer]) -> None:
        self._items = items
        self._work = work
        self.answers: queue.Queue = queue.Queue(maxsize=1)
        self.stopped = threading.Event()

    def _put(self, entry) -> bool:
        while not self.stopped.is_set():
            try:
                self.answers.put(entry, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _answer(self, item: Item) -> Answer | Exception:
        # Returned from here, an error's traceback holds this frame but not the error: no
        # reference cycle keeps the item (a frame of megabytes) alive until a collection.
        try:
            return self._work(item)
        except Exception as error:  # noqa: BLE001 - the caller gets it as the answer
            return error

    def run(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, self._answer(item))):
                    return
        except Exception as error:  # noqa: BLE001 - the items broke: the caller raises it
            self._put((_END, error))
            return
        finally:
            # Items that are themselves worked ahead free their thread now, not when
            # collected.
            close = getattr(self._items, "close", None)
            if close is not None:
                close()
        self._put((_END, None))


def worked_ahead(items: Iterable[Item], work: Callable[[Item], Answer],
                 workers: Executor) -> Iterator[tuple[Item, Answer | Exception]]:
    """(item, work(item)) in the items' order, the items read and worked on by a thread of
    `workers`, which must have one free for every caller at once: while the caller handles
    one answer, the next items are worked on (two at most waiting). An Exception from
    `work` takes its answer's place; one from the items is raised to the caller after the
    answers before it. A caller that stops early frees the thread after the item at hand."""
    worker = _AheadWorker(items, work)
    workers.submit(worker.run)
    try:
        while True:
            item, answer = worker.answers.get()
            if item is _END:
                if answer is not None:
                    raise answer
                return
            yield item, answer
    finally:
        worker.stopped.set()
