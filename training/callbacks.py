"""Training callbacks. Import after training.train has set up the environment."""

from __future__ import annotations

import time
from pathlib import Path

import keras


class KeepBest(keras.callbacks.Callback):
    """Saves `network` (not the training wrapper around it) whenever validation accuracy
    improves, so a run stopped early leaves its best model on disk; with `max_seconds`,
    stops training once that much time has passed."""

    def __init__(self, network: keras.Model, out: Path, max_seconds: float = 0) -> None:
        super().__init__()
        self.network, self.out, self.max_seconds = network, out, max_seconds
        self.best, self.started = -1.0, time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        accuracy = float((logs or {}).get("val_accuracy", -1.0))
        if accuracy > self.best:
            self.best = accuracy
            self.network.save(self.out)
        if self.max_seconds and time.monotonic() - self.started > self.max_seconds:
            self.model.stop_training = True
