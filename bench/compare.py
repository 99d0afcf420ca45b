"""Two checkouts of facestream served at once on this machine, measured taking turns, so that
their rows compare within one run (a VM's speed drifts from minute to minute).

    python -m bench.compare --before ../old-worktree [--after .] [--seconds 6] [--rounds 2]

Each checkout runs its own classifier and detector, from its own folder, with this
environment's Python. Rows: one 640x480 JPEG stream (p50, p99), eight streams, the real-people
clips of bench/real_content.py when ../shared/data is there, and the client CLI over the
street pan at 1080p with its defaults (window 4, no display)."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

import cv2

from bench.real_content import real_clips
from bench.served import stream_load
from devkit import ROOT
from devkit.frames import clip_frames
from devkit.processes import wait_serving

REFERENCE_MODEL = ["--model", "fer2013"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _served(checkout: Path):
    """The checkout's classifier and detector as processes run from its folder: its target."""
    with ExitStack() as stack:
        classifier_port, detector_port = _free_port(), _free_port()
        for module, port, args in (
                ("classifier", classifier_port, REFERENCE_MODEL),
                ("detector", detector_port, ["--classifier-target",
                                             f"127.0.0.1:{classifier_port}",
                                             "--recognizer-target", ""])):
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{module}", "--port", str(port), *args],
                cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(process.wait)
            stack.callback(process.terminate)
            wait_serving(f"127.0.0.1:{port}", None, 180)
        yield f"127.0.0.1:{detector_port}"


def _client_row(target: str, video: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "client.webcam", "--source", str(video),
                          "--target", target, "--no-display"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    summary = next(line for line in (out.stdout + out.stderr).splitlines() if " fps;" in line)
    fps = summary.split("; ")[1]
    faces = summary.split("faces ")[1].split(";")[0]
    return f"client CLI street 1080p {fps}, {faces} faces"


def _street_video(folder: Path) -> Path | None:
    clips = real_clips()
    if not clips:
        return None
    path = folder / "street_1080p.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (1920, 1080))
    for frame in clips["street_1080p"]:
        writer.write(frame)
    writer.release()
    return path


def _rows(target: str, seconds: float, video: Path | None) -> list[str]:
    frames = clip_frames()
    one, _ = stream_load(target, frames, 1, seconds, "jpeg")
    eight, _ = stream_load(target, frames, 8, seconds, "jpeg")
    rows = [f"640x480 one stream p50 {one.percentile(50):.1f} ms p99 {one.percentile(99):.1f} ms",
            f"eight streams {eight.per_s:.0f} frames/s"]
    for name, clip in real_clips().items():
        rate, stages = stream_load(target, clip, 1, seconds, "jpeg")
        rows.append(f"{name} {rate.per_s:.1f} frames/s p99 {rate.percentile(99):.0f} ms "
                    f"{rate.faces / rate.count:.2f} faces/frame detect {stages['detect']:.1f} ms")
    if video is not None:
        rows.append(_client_row(target, video))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout (e.g. a worktree)")
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, checkout in checkouts.items():
        if not (checkout / "services/detector").is_dir() or not (checkout / "models").is_dir():
            parser.error(f"--{name} {checkout}: no checkout with its models (make setup there)")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        targets = {name: stack.enter_context(_served(path)) for name, path in checkouts.items()}
        video = _street_video(Path(folder))
        for target in targets.values():  # warm both before the first measurement
            _rows(target, 1.0, None)
        for round_ in range(args.rounds):
            for name, target in targets.items():
                print(f"round {round_} {name}: " + " | ".join(_rows(target, args.seconds, video)),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
