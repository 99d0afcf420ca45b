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


class StopRequested(Exception):
    """SIGINT or SIGTERM: stop the services and exit 0."""


def stop_on_signals() -> None:
    """SIGINT and SIGTERM alike unwind into StopRequested, even where the shell started us
    with SIGINT ignored (`make serve &` from a script)."""
    def request_stop(signum, _frame):
        # Once is enough: a second signal must not interrupt the services' own stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise StopRequested(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def taken_ports(ports: dict[str, int]) -> list[str]:
    """The ports of `ports` (name -> port) that something on this machine listens on or holds.

    SO_REUSEADDR as the services' own sockets have it: the connections of a run just stopped,
    in TIME_WAIT, do not keep the next one from binding."""
    taken = []
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({name}: make serve {name.upper()}_PORT=...)")
    return taken


def wait_accepting(ports: list[int], timeout_s: float = 30) -> None:
    """Return once each port accepts a TCP connection, so "serving" is only said when true."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"serve: nothing accepts connections on port {port} "
                                     f"after {timeout_s:.0f} s") from None
                time.sleep(0.02)


def client_exports(ports: dict[str, int]) -> str:
    """The `export` line that points every client at moved ports, or "" when none moved."""
    if (ports["detector"], ports["recognizer"]) == (DETECTOR_PORT, RECOGNIZER_PORT):
        return ""
    return (f"export FACESTREAM_TARGET=127.0.0.1:{ports['detector']} "
            f"FACESTREAM_RECOGNIZER=127.0.0.1:{ports['recognizer']}")


def serve(ports: dict[str, int]) -> int:
    taken = taken_ports(ports)
    if taken:
        print(f"serve: port {', '.join(taken)} is in use, perhaps by another `make serve`; "
              "stop it or choose other ports", file=sys.stderr)
        return 1
    try:
        with local_services(classifier_port=ports["classifier"], detector_port=ports["detector"],
                            recognizer_port=ports["recognizer"]) as (
                target, processes), web_gateway(target, port=ports["web"]) as web:
            wait_accepting([*ports.values()])
            print(f"serving: detector {target}, classifier 127.0.0.1:{ports['classifier']}, "
                  f"recognizer 127.0.0.1:{ports['recognizer']}, the page at "
                  f"http://127.0.0.1:{ports['web']}. Open it in a browser on this machine, or "
                  "try `python client/webcam.py` (--enroll NAME --source PHOTO, then "
                  "--identify); Ctrl-C stops.", flush=True)
            moved = client_exports(ports)
            if moved:
                print(f"serving on moved ports: clients follow them after `{moved}`",
                      flush=True)
            while all(p.poll() is None for p in [*processes, web]):
                time.sleep(0.2)
            stopped = [p for p in [*processes, web] if p.poll() is not None]
            print(f"serve: {', '.join(p.module for p in stopped)} stopped (exit "
                  f"{', '.join(str(p.poll()) for p in stopped)}); stopping the rest",
                  file=sys.stderr)
    except StopRequested as stop:
        print(f"serve: {stop} received; the services are stopped", file=sys.stderr)
        return 0
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
    # A signal unwinds the context managers, so the services are stopped, not orphaned.
    stop_on_signals()
    ports = {"detector": args.detector_port, "classifier": args.classifier_port,
             "recognizer": args.recognizer_port, "web": args.web_port}
    if args.mode == "serve":
        return serve(ports)
    try:
        return demo(args.source, Path(args.out))
    except StopRequested:
        return 130  # an interrupted demo wrote no complete output


if __name__ == "__main__":
    sys.exit(main())
