"""Training callbacks. Import after training.train has set up the environment."""

from __future__ import annotations

import time

import keras


class StopAfter(keras.callbacks.Callback):
    """Ends training after the epoch in which `seconds` have passed (the checkpoint keeps
    the best epoch so far); 0: no limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.started = seconds, time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds and time.monotonic() - self.started > self.seconds:
            self.model.stop_training = True
