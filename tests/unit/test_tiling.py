"""Scan geometry: pyramid levels, tiles that cover the frame with their overlap, the stream
schedule, and merging detections across tiles."""

from __future__ import annotations

import numpy as np
import pytest

from services.faces.detection import DetectedFace
from services.faces.frontal.schedule import (
    StreamSchedule,
    finest_scale,
    level_jobs,
    level_tilings,
    pyramid_scales,
)
from services.faces.frontal.tuning import FrontalTuning
from services.faces.geometry import inside_inner_borders, merge, tile_grid, tile_spans

FRONTAL = FrontalTuning()


@pytest.mark.parametrize("width,height", [(640, 480), (1280, 720), (1920, 1080), (333, 999)])
def test_tiles_cover_the_frame_with_at_least_the_overlap(width, height):
    tiles = tile_grid(width, height, FRONTAL.tile_model_px, FRONTAL.tile_overlap_model_px)
    covered = np.zeros((height, width), np.int32)
    for x, y, w, h in tiles:
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
        covered[y:y + h, x:x + w] += 1
    assert covered.min() >= 1
    for length in (width, height):
        spans = tile_spans(length, FRONTAL.tile_model_px, FRONTAL.tile_overlap_model_px)
        assert all(size <= FRONTAL.tile_model_px for _, size in spans)
        for (first, size), (second, _) in zip(spans, spans[1:]):
            # neighbours overlap enough, and not much more (the tiles are spread evenly)
            assert FRONTAL.tile_overlap_model_px <= first + size - second <= FRONTAL.tile_overlap_model_px + 2


def test_levels_step_down_to_the_whole_frame_in_one_input():
    scales = pyramid_scales(1280, 720, 1.0, 128, FRONTAL.level_step)
    assert scales[0] == 1.0
    assert scales[-1] == pytest.approx(128 / 1280)
    for finer, coarser in zip(scales, scales[1:-1]):
        assert finer / coarser == pytest.approx(FRONTAL.level_step)
    assert pyramid_scales(100, 80, 1.0, 128, FRONTAL.level_step) == [1.0]  # a small frame is one level


def test_finest_scale_is_native_unless_faces_are_large_or_the_frame_is_huge():
    assert finest_scale(1280, 720, 24, 1920 * 1088, FRONTAL.smallest_model_face_px) == 1.0
    assert finest_scale(1280, 720, 48, 1920 * 1088, FRONTAL.smallest_model_face_px) == pytest.approx(0.5)
    assert finest_scale(3840, 2160, 24, 1920 * 1080, FRONTAL.smallest_model_face_px) == pytest.approx(0.5)


def test_a_frame_over_the_budget_is_scanned_no_finer_than_the_over_budget_scale():
    smallest = FRONTAL.smallest_model_face_px
    assert finest_scale(1920, 1080, 24, 1280 * 720, smallest, 0.5) == pytest.approx(0.5)
    assert finest_scale(3840, 2160, 24, 1280 * 720, smallest, 0.5) == pytest.approx(1 / 3)
    assert finest_scale(1280, 720, 24, 1280 * 720, smallest, 0.5) == 1.0  # within it


def test_stream_schedule_visits_every_job_once_per_period():
    scales = pyramid_scales(1920, 1080, 1.0, 128, FRONTAL.level_step)
    schedule = StreamSchedule(1920, 1080, scales, 8, FRONTAL)
    whole = level_jobs(1920, 1080, scales[-1], FRONTAL, coarsest=True)
    coarser = [job for scale in scales[1:-1] for job in level_jobs(1920, 1080, scale, FRONTAL)]
    assert schedule.period == 8
    frames = [schedule.next_jobs() for _ in range(schedule.period)]
    for jobs in frames:
        assert jobs[:len(whole)] == whole  # the whole frame, on every frame
    seen = [job for jobs in frames for job in jobs[len(whole):]]
    finest = [job for job in seen if job.scale == scales[0]]
    assert sorted(seen, key=repr) == sorted(finest + coarser, key=repr)  # each job once
    assert any(sorted(finest, key=repr) == sorted(tiling, key=repr)
               for tiling in level_tilings(1920, 1080, scales[0], FRONTAL))
    assert schedule.next_jobs() == whole + schedule.groups[0]  # and round again
    costs = [sum(job.cost for job in group) for group in schedule.groups]
    assert max(costs) <= 1.6 * (sum(costs) / len(costs))  # the work is spread evenly


@pytest.mark.parametrize("width,height", [(640, 480), (1280, 720), (1920, 1080), (333, 999)])
def test_every_way_of_cutting_a_level_covers_it_with_the_overlap(width, height):
    for tiling in level_tilings(width, height, 1.0, FRONTAL):
        covered = np.zeros((height, width), np.int32)
        for job in tiling:
            x, y, w, h = job.region
            assert max(w, h) <= FRONTAL.stretched_tile_model_px
            covered[y:y + h, x:x + w] += 1
        assert covered.min() >= 1
        starts = sorted({job.region[0] for job in tiling})
        for first, second in zip(starts, starts[1:]):
            width_of_first = next(job.region[2] for job in tiling if job.region[0] == first)
            assert first + width_of_first - second >= FRONTAL.tile_overlap_model_px


@pytest.mark.parametrize("frames", [9, 10])
def test_a_640x480_stream_runs_one_scan_job_per_frame(frames):
    """A camera frame's share of the scan is one job of about the same cost on every frame,
    so no frame of the period pays for two: over 10 frames the usual 9 tiles and the
    second level; over 9 (an any-pose stream, whose discovery frame scans nothing) the
    finest level in 8 larger tiles."""
    scales = pyramid_scales(640, 480, 1.0, 128, FRONTAL.level_step)
    schedule = StreamSchedule(640, 480, scales, frames, FRONTAL)
    assert [len(group) for group in schedule.groups] == [1] * frames
    costs = [group[0].cost for group in schedule.groups]
    assert max(costs) <= 1.2 * min(costs)


def face(x, y, size, score=0.9):
    points = np.array([[x + 0.3 * size, y + 0.4 * size], [x + 0.7 * size, y + 0.4 * size],
                       [x + 0.5 * size, y + 0.6 * size], [x + 0.5 * size, y + 0.8 * size],
                       [x, y + 0.5 * size], [x + size, y + 0.5 * size]], np.float32)
    return DetectedFace((float(x), float(y), float(size), float(size)), score, points)


def test_merge_keeps_two_adjacent_faces_apart():
    left, right = face(100, 100, 40), face(142, 100, 40, 0.8)
    merged = merge([left, right], nms_iou=0.3)
    assert len(merged) == 2
    assert merged[0].box == left.box and merged[1].box == right.box


def test_merge_joins_one_face_seen_by_two_overlapping_tiles():
    one, same = face(100, 100, 40, 0.9), face(102, 101, 40, 0.7)
    merged = merge([one, same], nms_iou=0.3)
    assert len(merged) == 1
    assert merged[0].score == pytest.approx(0.9)
    assert merged[0].box[0] == pytest.approx((100 * 0.9 + 102 * 0.7) / 1.6)


def test_a_face_cut_by_an_inner_tile_border_is_left_to_the_neighbour_tile():
    tile = (300, 0, 320, 320)  # inner borders on the left and right, none at the top
    assert inside_inner_borders(face(400, 0, 60), tile, 1280, 720)  # inside, touches the top
    assert not inside_inner_borders(face(280, 100, 60), tile, 1280, 720)  # cut on the left
    assert not inside_inner_borders(face(590, 100, 60), tile, 1280, 720)  # cut on the right
    assert inside_inner_borders(face(-10, 100, 60), (0, 0, 320, 320), 1280, 720)  # frame edge
