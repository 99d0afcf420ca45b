"""The frontal scan's numbers, in one frozen record (docs/detection.md says how each was
chosen). No model and no runtime: settings import it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FrontalTuning:
    # BlazeFace short-range finds faces of ~24-96 model pixels; the finest level puts the
    # smallest face looked for at the bottom of that range.
    smallest_model_face_px: float = 24.0
    # Scale ratio between neighbouring pyramid levels: less than 96/24, so every face
    # size is some level's sweet spot.
    level_step: float = 2.5
    # A stream's levels are cut into tiles of at most this side (model pixels), overlapping
    # so that a face that small lies whole in some tile; a larger one is the next level's.
    tile_model_px: int = 256
    tile_overlap_model_px: int = 64
    # A stream's finest level may instead be cut into fewer tiles of up to this side, where
    # its jobs then deal into the stream's frames so that no frame pays for two.
    stretched_tile_model_px: int = 320
    # Faces larger than this in model pixels are left to the next, coarser level.
    max_face_model_px: int = 110
    # A face's neighbourhood, as a multiple of its box side: room for a frame's motion, and
    # the face lands mid sweet spot in the model's input.
    neighbourhood: float = 2.5
    # A candidate is verified by Face Mesh's presence output, then by views of its
    # neighbourhood (side factor, mirrored), the best two averaged: textures rarely pass both.
    verify_views: tuple[tuple[float, bool], ...] = ((2.5, False), (1.8, False), (2.5, True))
    min_presence: float = 0.5
    # Face Mesh's certainty lifts faces in caps, sunglasses or half turned, which lower the
    # views.
    sure_presence: float = 0.99
    sure_face_bonus: float = 0.1
    # Face Mesh is less sure of a small face upscaled to its input: a lower presence will
    # do there when the views score higher.
    small_face_px: int = 48
    small_min_presence: float = 0.05
    small_face_score: float = 0.7
    # A small candidate Face Mesh doubts is asked again, framed by its best view; below
    # this presence it is not (the cost stays bounded).
    second_look_presence: float = 0.001
    # Candidates are kept from this score (or the request's min_score, if lower);
    # min_score filters the verified score.
    candidate_score: float = 0.5
    # At the finest level a very small candidate is kept from a weaker score, but must then
    # be a face to Face Mesh, and stays out of the stronger candidates' averages.
    small_candidate_score: float = 0.35
    small_candidate_px: int = 32
    # A view's detection must overlap the candidate this much to count as seeing it, and
    # score at least view_floor (a weaker one counts as 0).
    view_iou: float = 0.3
    view_floor: float = 0.2
    # In a stream, a new face verified with less than min_score + this waits for the next
    # frame to verify it again: a texture that passes by luck rarely does twice.
    confirm_margin: float = 0.1
    # A known face is kept while its neighbourhood check scores min_score - this: finding
    # a face needs more evidence than keeping it, so a face near the threshold is not
    # reported on one frame and lost on the next.
    keep_margin: float = 0.1
    # A detection from a frame's scan stands in for a known face's neighbourhood check
    # when it overlaps the face's last box this much (a frame's motion, not a neighbour).
    sighting_iou: float = 0.5
    # Frames a known face is still looked for after its check missed it (a blink, a hand
    # passing); it is not reported meanwhile.
    keep_missed_frames: int = 5
