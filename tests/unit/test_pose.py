"""Head pose for faces of every size: a face of ~24 px in a 1080p frame gets the pose the same
face gets at 120 px (SQPnP alone refuses points that close together)."""

from __future__ import annotations

import numpy as np
import pytest

from services.faces.pose import head_pose

# BlazeFace order: right eye, left eye, nose tip, mouth centre, right ear, left ear; a face
# turned a little to the picture's right and tilted.
TURNED = np.array([[0.30, 0.36], [0.68, 0.33], [0.60, 0.55], [0.53, 0.74], [0.05, 0.42],
                   [0.92, 0.38]])


@pytest.mark.parametrize("where", [(960, 540), (100, 80), (1800, 1000)])
def test_a_tiny_face_gets_the_pose_of_the_same_face_larger(where):
    large = head_pose((TURNED * 120 + where).astype(np.float32), (1920, 1080))
    assert large is not None
    if where == (960, 540):
        assert large.yaw > 5  # the nose to the picture's right, seen straight on
    for size in (14, 24, 30):
        small = head_pose((TURNED * size + where).astype(np.float32), (1920, 1080))
        assert small is not None, size
        assert abs(small.yaw - large.yaw) < 4 and abs(small.pitch - large.pitch) < 4
        assert abs(small.roll - large.roll) < 2


def test_keypoints_all_in_one_place_have_no_pose():
    assert head_pose(np.full((6, 2), 50.0, np.float32), (640, 480)) is None
