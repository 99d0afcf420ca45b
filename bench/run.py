"""`make bench`: the speed of facestream against the raw model and against the libraries
people use today, on this machine, in one run. Prints a table and writes
bench/results.json. Asserts nothing about time; `--quick` only shortens every part (the
test suite runs it that way so it cannot rot)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import cv2

from bench.measure import Rate
from devkit import ROOT
from devkit.frames import clip_frames
from devkit.processes import local_services, peak_rss_mb, service_process

CALLERS = (1, 4, 16, 64)
CAMERA_INTERVAL_S = 1 / 30
# The serving rows stay measured with the mini-XCEPTION whichever model is the default,
# so they compare across sessions; "model ..., LiteRT 1 thread" rows compare the models.
REFERENCE_MODEL = ["--model", "fer2013"]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import tensorflow as tf  # noqa: PLC0415

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": ", ".join(gpus) or None}


def served(seconds: float, max_batch_size: int, runtime: str = "auto",
           tta: str = "mirror") -> dict:
    from bench.served import classify_load  # noqa: PLC0415

    results = {}
    args = [*REFERENCE_MODEL, "--max-batch-size", str(max_batch_size), "--max-queue-size",
            "4096", "--runtime", runtime, "--tta", tta]
    with service_process("classifier", 0, args, quiet=True) as classifier:
        # One crop per call from each caller count, and the classifier-speed issue's
        # several-faces load: 16 callers sending 8 crops a call (key "16x8").
        for key, callers, crops in [*((str(n), n, 1) for n in CALLERS), ("16x8", 16, 8)]:
            rate = classify_load(f"127.0.0.1:{classifier.port}", callers, seconds, crops)
            results[key] = {"faces_per_s": round(rate.per_s * crops, 1),
                            "p50_ms": round(rate.percentile(50), 2),
                            "p99_ms": round(rate.percentile(99), 2)}
    return results


def no_op_ceiling(seconds: float) -> dict:
    """Calls/s of a no-op RPC (health check) through the classifier's server: what gRPC in
    Python allows at all, the bound for the served rows."""
    from bench.served import no_op_load  # noqa: PLC0415

    with service_process("classifier", 0, REFERENCE_MODEL, quiet=True) as classifier:
        return {str(callers): round(no_op_load(f"127.0.0.1:{classifier.port}", callers,
                                               seconds).per_s, 1)
                for callers in CALLERS}


def pipeline(seconds: float) -> tuple[dict, dict]:
    from bench.served import stream_load  # noqa: PLC0415

    frames = clip_frames()
    group = [cv2.imread(str(ROOT / "samples/group.jpg"))]
    with (local_services(REFERENCE_MODEL, quiet=True) as (target, (classifier, detector)),
          local_services(REFERENCE_MODEL, ["--backend", "frontal"], quiet=True) as (frontal, _)):
        single, stages = stream_load(target, frames, 1, seconds)
        # What a camera client sends (client/webcam.py's default encoding), and what the
        # classifier-speed issue's one-stream latency is defined on.
        jpeg, jpeg_stages = stream_load(target, frames, 1, seconds, "jpeg")
        # The same at a camera's pace: one frame every 1/30 s, the machine idle between
        # (each stage runs slower then: caches gone cold, idle cores woken).
        camera, camera_stages = stream_load(target, frames, 1, seconds, "jpeg", CAMERA_INTERVAL_S)
        # The same with expressions read (blendshapes, gaze), in the same run.
        expressive, expressive_stages = stream_load(target, frames, 1, seconds, "jpeg",
                                                    CAMERA_INTERVAL_S, expressions=True)
        multi, _ = stream_load(target, group, 1, seconds)
        frontal_camera, _ = stream_load(frontal, frames, 1, seconds, "jpeg", CAMERA_INTERVAL_S)
        # Eight streams on each backend, warm, taking turns: the rows compare within a run.
        eight, frontal_eight = _taking_turns(
            [lambda: stream_load(target, frames, 8, seconds)[0],
             lambda: stream_load(frontal, frames, 8, seconds)[0]])
        memory = {"detector": round(peak_rss_mb(detector.pid), 1),
                  "classifier": round(peak_rss_mb(classifier.pid), 1)}
    return {
        "single_stream_jpeg_30fps_frontal": _stream_row(frontal_camera),
        "eight_streams_frontal": _stream_row(frontal_eight),
        "single_stream": _stream_row(single),
        "single_stream_jpeg": _stream_row(jpeg),
        "single_stream_jpeg_30fps": _stream_row(camera),
        "single_stream_jpeg_30fps_expressions": _stream_row(expressive),
        "stages_ms_jpeg_30fps_expressions": _with_transport(expressive_stages, expressive),
        "eight_streams": _stream_row(eight),
        "multi_face": {"fps": round(multi.per_s, 1), "p50_ms": round(multi.percentile(50), 2)},
        "stages_ms": _with_transport(stages, single),
        "stages_ms_jpeg": _with_transport(jpeg_stages, jpeg),
        "stages_ms_jpeg_30fps": _with_transport(camera_stages, camera),
    }, memory


def _taking_turns(measures: list, rounds: int = 2) -> list:
    """Each measure once to warm up, then `rounds` times in turn: per measure, the Rate of
    all its rounds together."""
    for measure in measures:
        measure()
    runs = [[measure() for measure in measures] for _ in range(rounds)]
    return [Rate(sum(r.count for r in rates), sum(r.seconds for r in rates),
                 [ms for r in rates for ms in r.latencies_ms])
            for rates in zip(*runs, strict=True)]


def real_content(seconds: float) -> dict:
    """Real people, one stream of JPEG frames back to back, after a warm-up: frames/s,
    p50/p99, faces per frame and the server's stages; {} without the tuning data."""
    from bench.real_content import real_clips  # noqa: PLC0415
    from bench.served import stream_load  # noqa: PLC0415

    clips = real_clips()
    rows = {}
    with local_services(REFERENCE_MODEL, quiet=True) as (target, _):
        for name, frames in clips.items():
            stream_load(target, frames, 1, min(seconds, 2.0), "jpeg")
            rate, stages = stream_load(target, frames, 1, seconds, "jpeg")
            rows[name] = {**_stream_row(rate), "faces_per_frame": round(rate.faces / rate.count, 2),
                          "stages_ms": _with_transport(stages, rate)}
    return rows


def _stream_row(rate) -> dict:
    return {"fps": round(rate.per_s, 1), "p50_ms": round(rate.percentile(50), 2),
            "p99_ms": round(rate.percentile(99), 2)}


def _with_transport(stages: dict, rate) -> dict:
    """The server's mean stage times, and what the round trip adds to them (transport)."""
    mean_ms = float(sum(rate.latencies_ms) / len(rate.latencies_ms))
    stages = {**stages, "transport": max(mean_ms - sum(stages.values()), 0.0)}
    return {k: round(v, 2) for k, v in stages.items()}


def web(seconds: float) -> dict:
    from bench.web import gateway_overhead  # noqa: PLC0415

    with local_services(REFERENCE_MODEL, quiet=True) as (target, _):
        return gateway_overhead(target, seconds)


def peers(seconds: float) -> dict:
    from bench.peers import fer_fps, notebook_loop_fps  # noqa: PLC0415

    frames = clip_frames()
    return {"fer_fps": round(fer_fps(frames, seconds), 1),
            "notebook_loop_fps": round(notebook_loop_fps(frames, seconds), 1)}


def print_table(results: dict) -> None:
    c, p = results["classifier"], results["pipeline"]
    rows = [("machine", f"{results['machine']['cpu']}, {results['machine']['cores']} cores, "
                        f"GPU {results['machine']['gpu']}")]
    rows += [(f"raw model, TensorFlow, batch {b}", f"{v:,.0f} faces/s")
             for b, v in c["raw_faces_per_s"].items()]
    rows += [(f"raw model, LiteRT, batch {b}", f"{v:,.0f} faces/s")
             for b, v in c["raw_litert_faces_per_s"].items()]
    reference = c["ms_per_face_by_model"]["fer2013"]
    for name, row in c["ms_per_face_by_model"].items():
        rows.append((f"model {name}, LiteRT 1 thread", "  ".join(
            f"batch {n} {ms:.3f} ms/face ({ms / reference[n]:.1f}x fer2013)" for n, ms in row.items())))
    for mode, row in c["tta_ms_per_call"].items():
        rows.append((f"classify, LiteRT 1 thread, tta {mode}",
                     "  ".join(f"{n} crops {ms:.2f} ms ({ms / c['tta_ms_per_call']['none'][n]:.1f}x)"
                               for n, ms in row.items())))
    ceiling = c["no_op_calls_per_s"]
    rows += [(f"no-op RPC ceiling, {callers} callers", f"{value:,.0f} calls/s")
             for callers, value in ceiling.items()]
    for name, key in (("served, LiteRT, batching, tta mirror", "served"),
                      ("served, LiteRT, batching, tta none", "served_no_tta"),
                      ("served, LiteRT, batch 1, tta none", "served_batch1"),
                      ("served, TensorFlow, batching, tta mirror", "served_tensorflow")):
        for load, row in c[key].items():
            callers, _, crops = load.partition("x")
            calls_per_s = row["faces_per_s"] / int(crops or 1)
            share = calls_per_s / ceiling[callers] if ceiling.get(callers) else 0.0
            rows.append((f"{name}, {callers} callers" + (f" x {crops} crops" if crops else ""),
                         f"{row['faces_per_s']:,.0f} faces/s ({share:.0%} of no-op calls)  "
                         f"p50 {row['p50_ms']:.1f} ms  p99 {row['p99_ms']:.1f} ms"))
    for name, key in (("single stream", "single_stream"),
                      ("single stream, JPEG frames", "single_stream_jpeg"),
                      ("single stream, JPEG frames at 30 fps", "single_stream_jpeg_30fps"),
                      ("single stream, JPEG frames at 30 fps, expressions on",
                       "single_stream_jpeg_30fps_expressions"),
                      ("single stream, JPEG frames at 30 fps, frontal backend",
                       "single_stream_jpeg_30fps_frontal"),
                      ("eight streams", "eight_streams"),
                      ("eight streams, frontal backend", "eight_streams_frontal"),
                      ("4-face frame", "multi_face")):
        row = p[key]
        rows.append((f"pipeline, {name}",
                     f"{row['fps']:,.1f} frames/s  p50 {row['p50_ms']:.1f} ms"
                     + (f"  p99 {row['p99_ms']:.1f} ms" if "p99_ms" in row else "")))
    for name, row in results["real_content"].items() or [("real content", None)]:
        rows.append((f"pipeline, {name.replace('_', ' ')}, JPEG", "skipped: no ../shared/data"
                     if row is None else
                     f"{row['fps']:,.1f} frames/s  p50 {row['p50_ms']:.1f} ms  "
                     f"p99 {row['p99_ms']:.1f} ms  {row['faces_per_frame']:.2f} faces/frame"))
        if row is not None:
            rows.append(("  stages (ms)", "  ".join(f"{k} {v:.1f}"
                                                   for k, v in row["stages_ms"].items())))
    for name, key in (("pipeline stages (ms)", "stages_ms"),
                      ("pipeline stages, JPEG frames (ms)", "stages_ms_jpeg"),
                      ("pipeline stages, JPEG frames at 30 fps (ms)", "stages_ms_jpeg_30fps"),
                      ("pipeline stages, JPEG at 30 fps, expressions on (ms)",
                       "stages_ms_jpeg_30fps_expressions")):
        rows.append((name, "  ".join(f"{k} {v:.2f}" for k, v in p[key].items())))
    for size, row in results["detector_ms"].items():
        rows.append((f"detect p50 ms, {size}", "  ".join(f"{k} {v:.1f}" for k, v in row.items())))
    for model, row in results["detector_runtimes_ms"].items():
        rows.append((f"{model}, 1 thread", f"LiteRT {row['litert_ms']:.2f} ms, "
                                          f"OpenCV DNN {row['opencv_dnn_ms']:.2f} ms"))
    rows.append(("centerface per call (onnxruntime)", "  ".join(
        f"{size} {ms:.1f} ms" for size, ms in results["centerface_call_ms"].items())))
    w = results["web"]
    rows.append(("web gateway, one frame at a time", f"p50 {w['gateway_p50_ms']:.2f} ms vs "
                 f"{w['direct_p50_ms']:.2f} ms straight to StreamDetect (+{w['added_ms']:.2f} ms)"))
    rows.append(("web gateway, 8 pages at 30 fps", "answered fps per page: "
                 + " ".join(f"{fps:.1f}" for fps in w["eight_pages_fps"])))
    first = w["eight_pages_first_answer_ms"]
    rows.append(("web gateway, 8 pages opened at once", "first answer after "
                 + " ".join(str(ms) for ms in first) + " ms"))
    track = results["tracking_ms"]
    for faces, row in results["expressions_ms"].items():
        rows.append((f"expressions (mesh + blendshapes + gaze), {faces} face"
                     + ("s" if faces != "1" else "") + ", 1 thread",
                     f"p50 {row['p50_ms']:.2f} ms/frame  {row['per_face_ms']:.2f} ms/face"))
    rows.append((f"tracks + smoothing, {track['faces']} faces", f"p50 {track['p50_ms']:.3f} ms/frame  "
                 f"mean {track['mean_ms']:.3f} ms/frame"))
    r = results["recognizer"]
    rows.append(("recognizer, embed (one face)", "  ".join(
        f"{k.split('_')[-2]} callers {v:,.1f} faces/s" for k, v in r.items() if k.startswith("embed"))))
    for people, row in r["identify_ms"].items():
        rows.append((f"recognizer, identify among {int(people):,}",
                     f"p50 {row['p50']:.2f} ms  p99 {row['p99']:.2f} ms (RPC included)"))
    rows.append(("fer package (defaults)", f"{results['peers']['fer_fps']:.1f} frames/s; eight "
                 f"streams of ours {p['eight_streams']['fps'] / results['peers']['fer_fps']:.1f}x"))
    rows.append(("notebook loop (Haar + predict)", f"{results['peers']['notebook_loop_fps']:.1f} frames/s"))
    rows.append(("peak memory", f"detector {results['memory_mb']['detector']:.0f} MiB, "
                                f"classifier {results['memory_mb']['classifier']:.0f} MiB"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, to check it works")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results.json")
    args = parser.parse_args(argv)
    seconds = 0.3 if args.quick else args.seconds

    from bench.raw_model import (  # noqa: PLC0415
        cost_per_face_ms,
        raw_faces_per_s,
        raw_litert_faces_per_s,
        tta_cost_ms,
    )

    results: dict = {"machine": machine()}
    results["classifier"] = {"raw_faces_per_s": raw_faces_per_s(seconds),
                             "raw_litert_faces_per_s": raw_litert_faces_per_s(seconds),
                             "tta_ms_per_call": tta_cost_ms(seconds),
                             "ms_per_face_by_model": cost_per_face_ms(seconds),
                             "served": served(seconds, 64, "litert"),
                             "served_no_tta": served(seconds, 64, "litert", "none"),
                             "served_batch1": served(seconds, 1, "litert", "none"),
                             "served_tensorflow": served(seconds, 64, "tensorflow"),
                             "no_op_calls_per_s": no_op_ceiling(seconds)}
    results["pipeline"], results["memory_mb"] = pipeline(seconds)
    results["real_content"] = real_content(seconds)
    from bench.detection import centerface_calls, detector_latency, runtimes  # noqa: PLC0415

    results["detector_ms"] = detector_latency(seconds)
    results["detector_runtimes_ms"] = runtimes(seconds)
    results["centerface_call_ms"] = centerface_calls(seconds)
    from bench.expressions import expressions_ms  # noqa: PLC0415
    from bench.tracking import tracking_ms  # noqa: PLC0415

    results["expressions_ms"] = expressions_ms(seconds)
    results["tracking_ms"] = tracking_ms(seconds)
    results["web"] = web(seconds)
    from bench.recognizer import recognizer_speed  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as work:
        results["recognizer"] = recognizer_speed(
            seconds, Path(work), (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000))
    results["peers"] = peers(seconds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
