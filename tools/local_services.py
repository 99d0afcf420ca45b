"""Run the classifier and the detector as local processes.

    python tools/local_services.py serve            # both in the foreground until Ctrl-C
    python tools/local_services.py demo             # plus the client over the sample clip

`demo` is `make run`: it streams samples/sample_clip.mp4 through the services and writes
out/annotated.mp4 and out/results.jsonl, then stops the services.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_serving(target: str, process: subprocess.Popen | None, timeout_s: float) -> None:
    """Poll grpc.health.v1 until SERVING; fail if the process (when given) dies or time
    runs out."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"{' '.join(process.args[2:4])} exited with {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"{target} not SERVING after {timeout_s:.0f} s")


@contextmanager
def service_process(module: str, port: int, args: list[str] | None = None,
                    env: dict[str, str] | None = None, ready_timeout_s: float = 180):
    """Run `python -m services.<module> --port PORT ARGS` until the block ends (SIGTERM)."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"services.{module}", "--port", str(port), *(args or [])],
        cwd=ROOT, env={**os.environ, **(env or {})})
    try:
        wait_serving(f"127.0.0.1:{port}", process, ready_timeout_s)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def local_services(classifier_port: int, detector_port: int,
                   classifier_args: list[str] | None = None, detector_args: list[str] | None = None):
    """Start the classifier, then the detector wired to it; yield the detector target."""
    with service_process("classifier", classifier_port, classifier_args) as classifier, \
         service_process("detector", detector_port,
                         ["--classifier-target", f"127.0.0.1:{classifier_port}", *(detector_args or [])],
                         ready_timeout_s=60) as detector:
        yield f"127.0.0.1:{detector_port}", [classifier, detector]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve", "demo"])
    parser.add_argument("--source", default=str(ROOT / "samples/sample_clip.mp4"))
    parser.add_argument("--out", default=str(ROOT / "out"))
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the services are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.mode == "serve":
        with local_services(50052, 50051) as (target, processes):
            print(f"serving: detector {target}, classifier 127.0.0.1:50052. "
                  "Try `python client/webcam.py`; Ctrl-C stops.", flush=True)
            try:
                while all(p.poll() is None for p in processes):
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
        return 0
    out = Path(args.out)
    with local_services(free_port(), free_port()) as (target, _):
        result = subprocess.run(
            [sys.executable, str(ROOT / "client/webcam.py"), "--source", args.source,
             "--target", target, "--no-display", "--output", str(out / "annotated.mp4"),
             "--jsonl", str(out / "results.jsonl")], cwd=ROOT)
    if result.returncode == 0:
        print(f"wrote {out / 'annotated.mp4'} and {out / 'results.jsonl'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
