"""The any-pose detector's numbers, in one frozen record (docs/detection.md says how each
was chosen). No model and no runtime: settings import it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnyPoseTuning:
    # A stream whose whole-frame pass is coarser than this also gets tiles seen at this
    # scale, one tile at a time: a small face of a large frame falls under CenterFace's
    # smallest in the downscaled pass, and not in a tile.
    tile_scale: float = 0.5
    # Tiles are at most this side in frame pixels, overlapping by this much: a face up to
    # the overlap lies whole in some tile; larger ones are the whole-frame pass's. One tile
    # every tile_period frames keeps the frames between at the frontal scan's cost.
    tile_side_px: int = 1088
    tile_overlap_px: int = 128
    tile_period: int = 3
    # A stream without tiles runs its discovery pass in parts, one a frame, so that no frame
    # waits for a whole pass: this many bands across the frame's longer side, overlapping
    # by this many pixels of the downscaled frame, and the whole frame at half the scale
    # for the faces larger than half the overlap. A band leaves a face that comes within
    # its margin of an inner border (CenterFace boxes the part of a cut face it sees) to the
    # other band, which sees it whole if it is no larger than the overlap less the margin.
    discovery_bands: int = 2
    discovery_band_overlap_px: int = 64
    discovery_band_margin_px: int = 8
    # CenterFace's heatmap score that counts as the frontal scan's default min_score: where
    # it stops finding textures on real photos. Scores are mapped linearly so that one
    # min_score means the same for faces from either model.
    centerface_at_default: float = 0.5
    # Below this raw score a CenterFace peak is never looked at.
    centerface_floor: float = 0.05
    # A frontal face this large (px) that CenterFace does not see at support_score is no
    # face (a dog's face passes the frontal checks; CenterFace is sure of large real ones).
    support_from_px: int = 150
    support_score: float = 0.3
    # Detections from the two models overlap this much when they are one face (their boxes
    # frame a face differently: CenterFace's includes the forehead).
    same_face_iou: float = 0.3
    # A face's neighbourhood for CenterFace's check, as a multiple of its box side, and the
    # side it is resized to (the face at a size where CenterFace is sure).
    neighbourhood: float = 2.0
    neighbourhood_side_px: int = 128
    # Up to this many faces only CenterFace keeps are checked on every frame; beyond it, in
    # a crowd, each is checked every recheck_frames frames and its last box stands between.
    checks_per_frame: int = 4
    recheck_frames: int = 3
