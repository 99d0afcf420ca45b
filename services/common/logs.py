"""Structured logs: one JSON object per line on stderr.

Native libraries (LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate", TensorFlow's
absl lines) write to file descriptor 2 directly, which would break a stream of JSON lines.
`configure_logging` therefore points fd 2 at a pipe: a thread re-emits each line from it
as a JSON record of logger "native", and our own records go to the original stderr.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str, capture_native: bool = True) -> None:
    stream = _route_native_stderr() if capture_native else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _route_native_stderr():
    """Point fd 2 at a pipe whose lines become "native" log records; return a text stream
    on the original stderr for the JSON lines themselves."""
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    stream = io.TextIOWrapper(os.fdopen(original, "wb", buffering=0), write_through=True,
                              line_buffering=True)
    sys.stderr = stream  # Python-level writes (warnings, tracebacks) keep reaching stderr
    native = logging.getLogger("native")

    def pump() -> None:
        with os.fdopen(read_end, "r", errors="replace") as lines:
            for line in lines:
                if line.strip():
                    native.info(line.rstrip())

    threading.Thread(target=pump, name="native-stderr", daemon=True).start()
    return stream
