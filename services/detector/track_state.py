"""What the pipeline's stages keep per track, beside the tracker's own position and speed."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.detector.baseline import Baseline
from services.detector.identities import TrackIdentity
from services.detector.smoothing import EmotionSmoother


@dataclass
class TrackState:
    smoother: EmotionSmoother | None = None  # made on the track's first scored frame
    smoother_half_life_ms: float | None = None  # the half-life it was made with
    identity: TrackIdentity = field(default_factory=TrackIdentity)
    baseline: Baseline | None = None  # the track's resting face, from its frontal frames
    baseline_person: str = ""  # the person its baseline was last shared with
    baseline_saved_at_s: float = float("-inf")
