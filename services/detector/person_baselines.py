"""A track's resting face meets the person it turns out to be: a track identified as an
enrolled person starts from the baseline saved with them, and saves its own once learned,
so the next stream that meets them starts from where this one got to."""

from __future__ import annotations

import logging

import numpy as np

from services.detector.identities import IdentitySource, SavedBaseline
from services.detector.track_state import TrackState

log = logging.getLogger(__name__)

# A ready baseline is saved with its person at most this often per track.
SAVE_INTERVAL_S = 30.0


def share_baseline(state: TrackState, source: IdentitySource, now_s: float,
                   timeout_s: float) -> None:
    """For a tracked face with an identity and a baseline: start the baseline from the
    person's saved one (once, when the track is first identified as them and has not
    learned its own yet), and save it when it is ready and not saved lately."""
    match, baseline = state.identity.match, state.baseline
    if match is None or not match.person_id or baseline is None:
        return
    if state.baseline_person != match.person_id:
        state.baseline_person = match.person_id
        state.baseline_saved_at_s = float("-inf")
        saved = match.baseline
        if saved is not None and not baseline.ready and list(saved.labels) == baseline.labels:
            baseline.start_from(np.array(saved.rest, np.float32), saved.frames)
            state.baseline_saved_at_s = now_s  # nothing new to save yet
    if not baseline.ready or now_s - state.baseline_saved_at_s < SAVE_INTERVAL_S:
        return
    state.baseline_saved_at_s = now_s
    future = source.save_baseline(match.person_id, SavedBaseline(
        tuple(baseline.labels), tuple(float(v) for v in baseline.rest), baseline.frames),
        timeout_s)
    future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a resting face was not saved", extra={"error": str(future.exception())})
