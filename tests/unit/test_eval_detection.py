"""The evaluation tool's grouping of faces by the sizes the detection targets name."""

from tools.eval_detection import target_groups


def test_faces_are_counted_in_the_target_groups_their_size_and_frame_belong_to():
    assert target_groups(24, 640) == ["24-31 px"]
    assert target_groups(31.9, 1280) == ["24-31 px"]
    assert target_groups(32, 1280) == ["32-95 px in 1280x720"]
    assert target_groups(95, 1280) == ["32-95 px in 1280x720"]
    assert target_groups(60, 640) == []  # 32-95 px is a target in 1280x720 frames only
    assert target_groups(96, 640) == target_groups(300, 1280) == [">= 96 px"]
    assert target_groups(20, 1280) == []
