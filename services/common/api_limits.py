"""Limits the API states on a request's options, shared by the detector that enforces them
and the gateway that checks a page's options before they reach it."""

# The longest smoothing half-life a stream may ask for: beyond a minute a track's label
# would hardly move at all.
MAX_HALF_LIFE_MS = 60_000.0
