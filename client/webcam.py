"""facestream client: stream a camera, video, image(s) or URL to the detector and show or
save the annotated result.

    python client/webcam.py                              # camera 0, live window
    python client/webcam.py --source clip.mp4 --no-display --output out/annotated.mp4 \
        --jsonl out/results.jsonl
    python client/webcam.py --enroll "Alice" --source alice.jpg   # then --identify names her
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from client.enroll import enroll
from client.overlay import annotate
from client.results import describe_picture, plural, response_to_record
from client.sources import SourceError, open_source
from client.streaming import FrameStreamer, StreamStats
from client.timeline import Timeline, plot
from client.window import LiveWindow, why_no_window
from client.writers import AnnotatedWriter, JsonlWriter
from facestream.v1 import detector_service_pb2 as pb
from facestream.v1 import detector_service_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class Address:
    """Where a service is looked for: its flag, the variable every client reads (so moved
    ports need no flag), and the default."""

    flag: str
    variable: str
    default: str

    def of(self, args: argparse.Namespace) -> str:
        return getattr(args, self.flag.removeprefix("--"))


ADDRESSES = {"detector": Address("--target", "FACESTREAM_TARGET", "127.0.0.1:50051"),
             "recognizer": Address("--recognizer", "FACESTREAM_RECOGNIZER", "127.0.0.1:50053")}
# The API's limit on a stream's smoothing half-life (docs/api.md), checked before connecting.
MAX_HALF_LIFE_MS = 60_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--source", default="0",
                        help="camera index, video file, image file, directory of images, or URL "
                             "(default 0: the first camera)")
    detector, recognizer = ADDRESSES["detector"], ADDRESSES["recognizer"]
    parser.add_argument(detector.flag, default=os.environ.get(detector.variable, detector.default),
                        help=f"the detector, HOST:PORT (env {detector.variable}; default "
                             f"{detector.default})")
    parser.add_argument("--identify", action="store_true",
                        help="name each face from the recognizer's gallery (the detector asks it)")
    parser.add_argument("--enroll", metavar="NAME",
                        help="enroll the face in --source (a photo) as NAME with the recognizer, "
                             "then exit")
    parser.add_argument("--face-index", type=int, metavar="N",
                        help="--enroll: the face to take when the photo shows several (0 is the "
                             "leftmost; without it the recognizer lists them)")
    parser.add_argument(recognizer.flag,
                        default=os.environ.get(recognizer.variable, recognizer.default),
                        help=f"the recognizer, HOST:PORT, for --enroll (env {recognizer.variable}; "
                             f"default {recognizer.default})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="name each file skipped in a folder source")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no line per picture for an image or folder source (the summary "
                             "and the files are written as always)")
    parser.add_argument("--no-display", action="store_true", help="do not open a window")
    parser.add_argument("--output", help="write annotated frames: a video (.mp4/.avi) or a folder")
    parser.add_argument("--jsonl", help="write one JSON line of results per frame")
    parser.add_argument("--window", type=int, default=4, help="frames in flight at most (default 4)")
    parser.add_argument("--encoding", choices=["jpeg", "raw"], default="jpeg",
                        help="how frames travel: jpeg (small) or raw BGR (no codec cost)")
    parser.add_argument("--pace", action="store_true",
                        help="play files at their own frame rate, dropping frames when behind "
                             "(the default when a window shows them)")
    parser.add_argument("--min-score", type=float, help="minimum face score (default: the detector's)")
    parser.add_argument("--max-faces", type=int, default=0, help="at most this many faces per frame")
    parser.add_argument("--no-emotions", action="store_true", help="detect faces only")
    parser.add_argument("--expressions", action="store_true",
                        help="also read each face's 52 blendshapes, gaze and whether it looks "
                             "at the camera (JSONL: blendshapes, gaze, looking)")
    parser.add_argument("--no-tracks", action="store_true",
                        help="judge every frame alone: no track ids, no smoothing (pictures "
                             "from an image or a folder never have tracks)")
    parser.add_argument("--half-life", type=float, metavar="MS",
                        help="half-life of each track's emotion smoothing in ms; 0 shows raw "
                             "labels (default: the detector's)")
    parser.add_argument("--timeline", metavar="FILE.csv",
                        help="write one row per track per frame: time, frame, track, raw label, "
                             "smoothed label and scores")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="at the end, plot each track's smoothed emotions over time")
    parser.add_argument("--connect-timeout", type=float, default=10.0,
                        help="seconds to wait for the detector to be reachable")
    parser.add_argument("--tls-ca", default=os.environ.get("FACESTREAM_TLS_CA", ""),
                        help="PEM CA of the detector's certificate: connect with TLS "
                             "(env FACESTREAM_TLS_CA)")
    parser.add_argument("--tls-cert", default=os.environ.get("FACESTREAM_TLS_CERT", ""),
                        help="PEM client certificate, for mutual TLS (env FACESTREAM_TLS_CERT)")
    parser.add_argument("--tls-key", default=os.environ.get("FACESTREAM_TLS_KEY", ""),
                        help="PEM key of --tls-cert (env FACESTREAM_TLS_KEY)")
    parser.add_argument("--token", default=os.environ.get("FACESTREAM_AUTH_TOKEN", ""),
                        help="bearer token, if the detector wants one (env FACESTREAM_AUTH_TOKEN; "
                             "prefer the variable: flags show in `ps`)")
    args = parser.parse_args(argv)
    if args.window < 1:
        parser.error(f"--window must be at least 1, got {args.window}")
    if args.half_life is not None and not 0 <= args.half_life <= MAX_HALF_LIFE_MS:
        parser.error(f"--half-life must be 0..{MAX_HALF_LIFE_MS} ms, got {args.half_life}")
    if args.no_tracks and (args.timeline or args.plot):
        parser.error("--timeline and --plot follow tracks; drop --no-tracks")
    if args.no_emotions and (args.timeline or args.plot):
        parser.error("--timeline and --plot show emotions; drop --no-emotions")
    for address in ADDRESSES.values():
        problem = target_problem(address.of(args))
        if problem:
            parser.error(f"{address.flag} (or {address.variable}) {address.of(args)}: {problem}")
    return args


def target_problem(target: str) -> str:
    """What is wrong with a --target, or "" (gRPC's own forms, dns:/// and unix:, pass)."""
    if target.startswith(("dns:", "unix:", "ipv4:", "ipv6:")):
        return ""
    if "://" in target:
        return "give HOST:PORT, not a URL (e.g. 127.0.0.1:50051)"
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return "give HOST:PORT, with the port (the detector listens on 50051 by default)"
    return ""


def open_channel(args: argparse.Namespace, target: str) -> grpc.Channel:
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024),
               ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    if not args.tls_ca:
        return grpc.insecure_channel(target, options=options)

    def read(path: str) -> bytes | None:
        return Path(path).read_bytes() if path else None

    credentials = grpc.ssl_channel_credentials(read(args.tls_ca), read(args.tls_key),
                                               read(args.tls_cert))
    return grpc.secure_channel(target, credentials, options=options)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def summary(stats: StreamStats, elapsed_s: float) -> str:
    answered = max(stats.answered - stats.errors, 1)
    stages = " ".join(f"{name[:-3]} {total / answered:.1f}" for name, total in stats.stage_ms.items())
    return (f"frames read {stats.read}, answered {stats.answered}, dropped {stats.dropped}, "
            f"errors {stats.errors}, faces {stats.faces}; "
            f"{stats.answered / elapsed_s if elapsed_s > 0 else 0:.1f} fps; latency p50 "
            f"{percentile(stats.latencies_ms, 50):.1f} ms p99 {percentile(stats.latencies_ms, 99):.1f} ms; "
            f"server ms/frame: {stages}"
            + (f"\n{stats.without_emotions} frames without emotions: {stats.last_emotions_reason}"
               if stats.without_emotions else "")
            + (f"\n{stats.faces_omitted} more faces found than returned, on "
               f"{plural(stats.frames_omitting, 'frame')} "
               "(over max_faces; the largest were kept: raise --max-faces)"
               if stats.faces_omitted else ""))


def connect(args: argparse.Namespace, service: str = "detector") -> grpc.Channel | None:
    """A channel to the detector (or the recognizer) once it answers; None (and a message)
    if it never does."""
    address = ADDRESSES[service]
    target = address.of(args)
    channel = open_channel(args, target)
    ready = grpc.channel_ready_future(channel)
    interrupted = not wait_unless_interrupted(ready, args.connect_timeout)
    if ready.done() and not interrupted:
        return channel
    ready.cancel()
    channel.close()
    if interrupted:
        print(f"webcam: stopped while waiting for the {service}", file=sys.stderr)
        return None
    answer = http_answer(target)
    if answer:
        print(f"webcam: {target} answers HTTP ({answer}), not gRPC: that is a web server "
              f"(the page's gateway listens on 8080); the {service} listens on "
              f"{address.default.rpartition(':')[2]}", file=sys.stderr)
    else:
        print(f"webcam: no {service} at {target} after {args.connect_timeout:.0f} s; "
              f"start it with `make serve`, or point this client at yours with "
              f"{address.flag} HOST:PORT or {address.variable}=HOST:PORT (`make serve` "
              "prints the line to export when its ports moved)", file=sys.stderr)
    return None


def wait_unless_interrupted(future: grpc.Future, timeout_s: float) -> bool:
    """Wait up to timeout_s for `future`; False when Ctrl-C came first. Ctrl-C only sets a
    flag here: a KeyboardInterrupt raised inside gRPC's own waiting can deadlock the
    channel's close."""
    settled, interrupted = threading.Event(), threading.Event()
    future.add_done_callback(lambda _: settled.set())

    def on_interrupt(_signum, _frame):
        interrupted.set()
        settled.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        settled.wait(timeout_s)
    finally:
        signal.signal(signal.SIGINT, previous)
    return not interrupted.is_set()


def http_answer(target: str) -> str:
    """The status line an HTTP server at HOST:PORT `target` answers with, or ""."""
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        return ""
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2) as probe:
            probe.sendall(b"GET / HTTP/1.0\r\nHost: facestream\r\n\r\n")
            first = probe.recv(64).split(b"\r\n")[0].decode("latin-1")
    except OSError:
        return ""
    return first if first.startswith("HTTP/") else ""


def metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {args.token}"),) if args.token else ()


def run_enroll(args: argparse.Namespace) -> int:
    channel = connect(args, "recognizer")
    if channel is None:
        return 3
    try:
        print(enroll(channel, args.enroll, args.source, metadata(args), args.face_index))
    except ValueError as error:
        print(f"webcam: {error}", file=sys.stderr)
        return 2
    except grpc.RpcError as error:
        # The service names its API field; a user of this client knows the flag.
        details = (error.details() or "").replace("face_index", "--face-index")
        print(f"webcam: enroll failed: {error.code().name}: {details}", file=sys.stderr)
        return 1
    finally:
        channel.close()
    return 0


def detect_options(args: argparse.Namespace, stills: bool) -> pb.DetectOptions:
    """Per-frame options: separate pictures get the full scan and no tracks, video the
    incremental scan and tracks with smoothed emotions."""
    options = pb.DetectOptions(max_faces=args.max_faces, scan_mode=(
        pb.SCAN_MODE_FULL if stills else pb.SCAN_MODE_INCREMENTAL),
        track=not (stills or args.no_tracks))
    if args.half_life is not None:
        options.smoothing_half_life_ms = int(round(args.half_life))
    if args.min_score is not None:
        options.min_score = args.min_score
    if args.no_emotions:
        options.classify = False
    options.identify = args.identify
    options.expressions = args.expressions
    return options


class Outputs:
    """Where answered frames go: the JSONL file, the annotated video or folder, the window."""

    def __init__(self, args: argparse.Namespace, fps: float, show: bool, stills: bool) -> None:
        self.describe = stills and not args.quiet
        self.writer = AnnotatedWriter(args.output, fps) if args.output else None
        self.jsonl = JsonlWriter(args.jsonl) if args.jsonl else None
        self.timeline = Timeline(args.timeline)
        self.show = show
        self.window = LiveWindow() if show else None
        self._recent: list[float] = []

    def add(self, frame, response, latency_ms: float, dropped: int) -> bool:
        """Record one answered frame; False when the user asked to quit (q or Esc)."""
        record = response_to_record(frame.source, frame.index, response)
        if self.jsonl:
            self.jsonl.write(record)
        self.timeline.add(frame.time_s, frame.index, record["faces"], record["labels"])
        if self.describe:
            print(describe_picture(record), flush=True)
        elif response.HasField("error"):
            print(f"webcam: frame {frame.index}: {response.error.message}", file=sys.stderr)
        if not (self.writer or self.show):
            return True
        if self.writer:
            # Files get the results only: this client's own rate is noise in a recording.
            self.writer.write(annotate(frame.image, record["faces"]), frame.source, frame.index)
        if self.show:
            now = time.monotonic()
            self._recent = [t for t in self._recent if now - t < 1.0] + [now]
            hud = f"{len(self._recent)} fps  {latency_ms:.0f} ms  dropped {dropped}"
            return self.window.show(annotate(frame.image, record["faces"], hud))
        return True

    def close(self) -> None:
        if self.writer:
            self.writer.close()
        if self.jsonl:
            self.jsonl.close()
        self.timeline.close()


def finish_on_first_interrupt(streamer: FrameStreamer) -> None:
    """The first Ctrl-C stops reading frames and lets the ones in flight be answered and
    written, so the summary, the JSONL and the video agree; a second one stops at once."""
    def interrupted(_signum, _frame):
        if streamer.finishing:
            raise KeyboardInterrupt
        print("webcam: finishing the frames in flight (Ctrl-C again stops at once)",
              file=sys.stderr)
        streamer.finish()

    signal.signal(signal.SIGINT, interrupted)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.enroll is not None:
        return run_enroll(args)
    try:
        source = open_source(args.source)
    except SourceError as error:
        print(f"webcam: {error}", file=sys.stderr)
        return 2
    if source.stills and (args.timeline or args.plot):
        print(f"webcam: --timeline and --plot follow faces through a video or camera; "
              f"{args.source} is separate pictures, which have no tracks", file=sys.stderr)
        return 2
    no_window = None if args.no_display else why_no_window()
    if no_window:
        print(f"webcam: {no_window}; running without a window "
              "(use --output to save the annotated frames)", file=sys.stderr)
    show = not args.no_display and not no_window
    try:
        outputs = Outputs(args, source.fps, show, source.stills)
    except ValueError as error:
        print(f"webcam: {error}", file=sys.stderr)
        return 2
    channel = connect(args)
    if channel is None:
        outputs.close()
        return 3
    # A file shown in a window plays at its own frame rate; without one, as fast as answered.
    pace = args.pace or (show and not source.live and not source.stills)
    streamer = FrameStreamer(pb_grpc.DetectorServiceStub(channel), args.window,
                             drop_when_behind=source.live or pace, encoding=args.encoding,
                             options=detect_options(args, source.stills),
                             pace_fps=source.fps if pace else 0.0,
                             metadata=metadata(args))
    started = time.monotonic()
    finished = None  # the time held on a photo is not streaming time
    finish_on_first_interrupt(streamer)
    try:
        quit_asked = False
        for frame, response, latency_ms in streamer.run(source):
            if not outputs.add(frame, response, latency_ms, streamer.stats.dropped):
                quit_asked = True
                break
        finished = time.monotonic()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the stream is done
        if show and source.stills and not quit_asked and not streamer.finishing and (
                streamer.stats.answered):
            print("webcam: press any key in the window to close it", file=sys.stderr)
            outputs.window.hold()
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.UNIMPLEMENTED:
            print(f"webcam: {args.target} is not a facestream detector (it does not know "
                  "StreamDetect; the classifier listens on 50052, the detector on 50051)",
                  file=sys.stderr)
        else:
            print(f"webcam: stream failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        elapsed = (finished or time.monotonic()) - started
        outputs.close()
        channel.close()
    print(summary(streamer.stats, elapsed))
    if not source.stills and not args.no_tracks and not args.no_emotions:
        print(outputs.timeline.summary(1.0 / source.fps if source.fps else 0.0))
    if args.plot:
        plot(outputs.timeline, args.plot, 1.0 / source.fps if source.fps else 0.0)
        print(f"webcam: wrote {args.plot}")
    if source.skipped:
        names = f": {', '.join(source.skipped)}" if args.verbose else " (-v names them)"
        what = "file that is not an image" if len(source.skipped) == 1 else (
            "files that are not images")
        print(f"webcam: skipped {len(source.skipped)} {what}{names}", file=sys.stderr)
    if source.unreadable:
        print(f"webcam: could not read {plural(len(source.unreadable), 'image file')} "
              "(corrupt or truncated): "
              f"{', '.join(source.unreadable)}", file=sys.stderr)
    if streamer.stats.read == 0:
        print(f"webcam: read no frame from {args.source}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
