"""Interpreters of one LiteRT model shared by many threads: an interpreter per call at
once, kept for the next call, and no more calls at once than the cores can run."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from ai_edge_litert.interpreter import Interpreter


class Runner:
    """One allocated interpreter with its input and outputs (by size, smallest first)."""

    def __init__(self, model: bytes, threads: int) -> None:
        self.interpreter = Interpreter(model_content=model, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(),
                         key=lambda o: int(np.prod(o["shape"])))
        self.output_indices = [output["index"] for output in outputs]

    def run(self, tensor: np.ndarray, outputs: int | None = None) -> list[np.ndarray]:
        """The smallest `outputs` outputs (all by default): the others are not copied out."""
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(index) for index in self.output_indices[:outputs]]


class InterpreterPool:
    def __init__(self, model: bytes, threads: int = 1, max_running: int | None = None) -> None:
        self._model = model
        self._threads = threads
        if max_running is None:
            max_running = max(1, (os.cpu_count() or 1) // threads)
        self._running = threading.BoundedSemaphore(max_running)
        self._idle: queue.SimpleQueue[Runner] = queue.SimpleQueue()

    @contextmanager
    def runner(self) -> Iterator[Runner]:
        with self._running:
            try:
                runner = self._idle.get_nowait()
            except queue.Empty:
                runner = Runner(self._model, self._threads)
            try:
                yield runner
            finally:
                self._idle.put(runner)

    def run(self, tensor: np.ndarray, outputs: int | None = None) -> list[np.ndarray]:
        """The model's outputs for `tensor`, smallest first (the smallest `outputs` only)."""
        with self.runner() as runner:
            return runner.run(tensor, outputs)


def input_shape(model: bytes) -> list[int]:
    return [int(v) for v in Interpreter(model_content=model).get_input_details()[0]["shape"]]


def output_sizes(model: bytes) -> list[int]:
    """Values in each output, smallest first."""
    return sorted(int(np.prod(o["shape"])) for o in
                  Interpreter(model_content=model).get_output_details())
