"""`make bench` in its quick mode, so it cannot rot. It checks shape and sanity, never
speed: times are for the benchmark to print, not for tests to assert."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.real_content import real_clips
from tests.conftest import ROOT


def test_quick_benchmark_writes_every_figure(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pipeline, eight streams" in result.stdout
    results = json.loads(output.read_text())

    assert results["machine"]["cores"] >= 1
    classifier = results["classifier"]
    assert set(classifier["raw_faces_per_s"]) == {"1", "8", "32", "128"}
    assert set(classifier["raw_litert_faces_per_s"]) == {"1", "8", "32", "128"}
    assert all(v > 0 for v in classifier["raw_litert_faces_per_s"].values())
    assert set(classifier["ms_per_face_by_model"]) == {"fer2013", "ferplus"}
    assert all(ms > 0 for row in classifier["ms_per_face_by_model"].values() for ms in row.values())
    assert set(classifier["tta_ms_per_call"]) == {"none", "mirror", "mirror+shifts"}
    assert all(ms > 0 for row in classifier["tta_ms_per_call"].values() for ms in row.values())
    assert set(classifier["no_op_calls_per_s"]) == {"1", "4", "16", "64"}
    assert all(v > 0 for v in classifier["no_op_calls_per_s"].values())
    for key in ("served", "served_no_tta", "served_batch1", "served_tensorflow"):
        assert set(classifier[key]) == {"1", "4", "16", "64", "16x8"}
        for row in classifier[key].values():
            assert row["faces_per_s"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
    pipeline = results["pipeline"]
    for key in ("single_stream", "single_stream_jpeg", "single_stream_jpeg_30fps",
                "single_stream_jpeg_30fps_expressions", "eight_streams", "multi_face"):
        assert pipeline[key]["fps"] > 0 and pipeline[key]["p50_ms"] > 0
    assert pipeline["stages_ms_jpeg_30fps_expressions"]["expressions"] > 0
    assert set(results["expressions_ms"]) == {"1", "4", "8"}
    assert all(row["per_face_ms"] > 0 for row in results["expressions_ms"].values())
    for key in ("stages_ms", "stages_ms_jpeg", "stages_ms_jpeg_30fps"):
        assert set(pipeline[key]) == {"decode", "detect", "align", "classify", "track",
                                      "expressions", "transport"}
    assert len(results["web"]["eight_pages_fps"]) == 8 and min(results["web"]["eight_pages_fps"]) > 0
    first_answers = results["web"]["eight_pages_first_answer_ms"]
    assert len(first_answers) == 8 and min(first_answers) > 0  # every page was answered
    assert results["web"]["gateway_p50_ms"] > 0 and results["web"]["direct_p50_ms"] > 0
    tracking = results["tracking_ms"]
    assert tracking["tracks"] == tracking["faces"] == 8 and tracking["p50_ms"] > 0
    recognizer = results["recognizer"]
    assert all(recognizer[f"embed_faces_per_s_{n}_callers"] > 0 for n in (1, 2, 4))
    assert set(recognizer["identify_ms"]) == {"1000", "10000"}  # --quick leaves out 100k
    assert all(0 < row["p50"] <= row["p99"] for row in recognizer["identify_ms"].values())
    assert results["peers"]["fer_fps"] > 0 and results["peers"]["notebook_loop_fps"] > 0
    assert set(results["detector_ms"]) == {"640x480", "1280x720", "1920x1080"}
    for row in results["detector_ms"].values():
        assert {"auto, image (full scan)", "auto, stream (per frame)", "short_range", "full_range",
                "haar"} <= set(row)
        assert all(value > 0 for value in row.values())
    for row in results["detector_runtimes_ms"].values():
        assert row["litert_ms"] > 0 and row["opencv_dnn_ms"] > 0
    assert results["memory_mb"]["detector"] > 0 and results["memory_mb"]["classifier"] > 0
    assert pipeline["eight_streams_frontal"]["fps"] > 0
    # Real people when the tuning data is on this machine; a row that says so when not.
    if real_clips():
        assert set(results["real_content"]) == {"street_1080p", "stage_720p"}
        for row in results["real_content"].values():
            assert row["fps"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
            assert row["faces_per_frame"] > 0 and row["stages_ms"]["detect"] > 0
    else:
        assert results["real_content"] == {}
        assert "skipped: no ../shared/data" in result.stdout


def test_compare_serves_two_checkouts_and_measures_them_in_turns():
    result = subprocess.run([sys.executable, "-m", "bench.compare", "--before", str(ROOT),
                             "--seconds", "0.5", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["round 0 before", "round 0 after"]
    assert all("eight streams" in line and "p99" in line for line in lines)
