"""Run the classifier, the recognizer and the detector as local processes.

    python -m tools.local_services serve            # all three and the web page, until Ctrl-C
    python -m tools.local_services demo             # plus the client over the sample clip

`demo` is `make run`: it enrolls the astronaut from her portrait (in a gallery of its own,
out/gallery.sqlite3, started afresh), streams samples/sample_clip.mp4 through the services
with identities on, and writes out/annotated.mp4, out/results.jsonl, out/timeline.csv and
out/emotions.png (each track's smoothed emotions over time), then stops the services.
`serve` keeps its gallery in data/gallery.sqlite3 across runs.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devkit import ROOT
from devkit.processes import local_services, web_gateway

CLASSIFIER_PORT, DETECTOR_PORT, RECOGNIZER_PORT, WEB_PORT = 50052, 50051, 50053, 8080
DEMO_PERSON = "Eileen Collins"  # the astronaut of the sample clip (NASA, public domain)


def taken_ports(ports: dict[str, int]) -> list[str]:
    """The ports of `ports` (name -> port) that something on this machine already holds."""
    taken = []
    for name, port in ports.items():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({name}: make serve {name.upper()}_PORT=...)")
    return taken


def serve(ports: dict[str, int]) -> int:
    taken = taken_ports(ports)
    if taken:
        print(f"serve: port {', '.join(taken)} is in use, perhaps by another `make serve`; "
              "stop it or choose other ports", file=sys.stderr)
        return 1
    with local_services(classifier_port=ports["classifier"], detector_port=ports["detector"],
                        recognizer_port=ports["recognizer"]) as (
            target, processes), web_gateway(target, port=ports["web"]) as web:
        print(f"serving: detector {target}, classifier 127.0.0.1:{ports['classifier']}, "
              f"recognizer 127.0.0.1:{ports['recognizer']}, the page at "
              f"http://127.0.0.1:{ports['web']}. Open it in a browser on this machine, or try "
              "`python client/webcam.py` (--enroll NAME --source PHOTO, then --identify); "
              "Ctrl-C stops.", flush=True)
        try:
            while all(p.poll() is None for p in [*processes, web]):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        stopped = [p for p in [*processes, web] if p.poll() is not None]
        print(f"serve: {', '.join(p.module for p in stopped)} stopped (exit "
              f"{', '.join(str(p.poll()) for p in stopped)}); stopping the rest", file=sys.stderr)
    return 1


def demo(source: str, out: Path) -> int:
    client = [sys.executable, str(ROOT / "client/webcam.py")]
    gallery = out / "gallery.sqlite3"
    for stale in out.glob("gallery.sqlite3*"):
        stale.unlink()
    with local_services(recognizer_port=0, recognizer_args=["--gallery", str(gallery)]) as (
            target, processes):
        recognizer = f"127.0.0.1:{processes[2].port}"
        result = subprocess.run([*client, "--enroll", DEMO_PERSON, "--source",
                                 str(ROOT / "samples/astronaut.png"), "--recognizer", recognizer],
                                cwd=ROOT)
        if result.returncode != 0:
            return result.returncode
        result = subprocess.run(
            [*client, "--source", source, "--target", target, "--identify", "--no-display",
             "--output", str(out / "annotated.mp4"), "--jsonl", str(out / "results.jsonl"),
             "--timeline", str(out / "timeline.csv"), "--plot", str(out / "emotions.png")],
            cwd=ROOT)
    if result.returncode == 0:
        print(f"wrote {out / 'annotated.mp4'}, {out / 'results.jsonl'}, {out / 'timeline.csv'} "
              f"and {out / 'emotions.png'}")
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "demo"])
    parser.add_argument("--source", default=str(ROOT / "samples/sample_clip.mp4"))
    parser.add_argument("--out", default=str(ROOT / "out"))
    for name, port in (("detector", DETECTOR_PORT), ("classifier", CLASSIFIER_PORT),
                       ("recognizer", RECOGNIZER_PORT), ("web", WEB_PORT)):
        parser.add_argument(f"--{name}-port", type=int, default=port,
                            help=f"serve: the {name}'s port (default {port})")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the services are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ports = {"detector": args.detector_port, "classifier": args.classifier_port,
             "recognizer": args.recognizer_port, "web": args.web_port}
    return serve(ports) if args.mode == "serve" else demo(args.source, Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
