"""Domain errors raised by the cores (detection, alignment, batching).

Plain exceptions: the cores know nothing of gRPC. The one mapping to status codes lives
in the servicer layer (services/common/status.py). Each message says what was wrong and
how to fix it.
"""

from __future__ import annotations


class FacestreamError(Exception):
    """Base class: the message says what was wrong and how to fix it."""


class InvalidInput(FacestreamError):
    """The request cannot be served as sent (bad image, option out of range)."""


class NotFound(FacestreamError):
    """The request names something that does not exist (a person not enrolled)."""


class TooLarge(FacestreamError):
    """The request is larger than the server's limits."""


class Overloaded(FacestreamError):
    """The server's queue is full; retry later or elsewhere."""


class Expired(FacestreamError):
    """The caller's deadline passed before the work was done."""


class NotAllowed(FacestreamError):
    """The server is set not to serve this kind of request."""


class NotReady(FacestreamError):
    """The model is not loaded yet, or the server is shutting down."""
