"""The services as local processes, on ports they pick themselves; process memory.

A service started with `--port 0` binds a free port and logs it in its JSON "serving"
line, which `service_process` reads from the service's stderr, so no port is probed
first and then raced for. The service's log lines are passed through (only warnings and
errors when `quiet`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devkit import ROOT

QUIET_LEVELS = ("warning", "error", "critical")


def unused_port() -> int:
    """A port nothing listens on now: for clients that must find no server there, and
    for the few listeners that cannot report a port they picked (Docker's host ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """A running `python -m services.<module>` (or `python -m <module>` for a dotted name
    such as services.gateway); `port` is the one it bound."""

    def __init__(self, module: str, port: int, args: list[str], env: dict[str, str] | None,
                 quiet: bool) -> None:
        self.module = module if "." in module else f"services.{module}"
        self.popen = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(port), "--log-level",
             "info", *args], cwd=ROOT, env={**os.environ, **(env or {})},
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self.pid = self.popen.pid
        self.port = port or None
        self._bound = threading.Event()
        if port:
            self._bound.set()
        self._quiet = quiet
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        for line in self.popen.stderr:
            record = _json_or_none(line)
            if record is not None and record.get("msg") == "serving" and "port" in record:
                self.port = int(record["port"])
                self._bound.set()
            if not self._quiet or record is None or record.get("level") in QUIET_LEVELS:
                sys.stderr.write(line)

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait_bound(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while not self._bound.wait(0.2):
            if self.poll() is not None:
                raise SystemExit(f"{self.module} exited with {self.popen.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.module} bound no port in {timeout_s:.0f} s")
        return self.port

    def stop(self) -> None:
        if self.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self._reader.join(timeout=5)


def _json_or_none(line: str) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def wait_serving(target: str, process: ServiceProcess | None, timeout_s: float) -> None:
    """Poll grpc.health.v1 until SERVING; fail if the process (when given) dies or time
    runs out."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"{target}: the service exited with {process.poll()}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"{target} not SERVING after {timeout_s:.0f} s")


@contextmanager
def service_process(module: str, port: int = 0, args: list[str] | None = None,
                    env: dict[str, str] | None = None, ready_timeout_s: float = 180,
                    quiet: bool = False):
    """Run `python -m services.<module>` until the block ends (SIGTERM); yields it once
    it is SERVING. Port 0 (the default) lets it pick a free one: read it from `.port`."""
    process = ServiceProcess(module, port, args or [], env, quiet)
    try:
        bound = process.wait_bound(ready_timeout_s)
        wait_serving(f"127.0.0.1:{bound}", process, ready_timeout_s)
        yield process
    finally:
        process.stop()


@contextmanager
def web_gateway(detector_target: str, args: list[str] | None = None, port: int = 0,
                quiet: bool = True, ready_timeout_s: float = 60):
    """Run the web gateway (`python -m services.gateway`) in front of a detector until the block
    ends; yields it once it listens (`.port`)."""
    process = ServiceProcess("services.gateway", port, ["--detector-target", detector_target,
                                                  *(args or [])], None, quiet)
    try:
        process.wait_bound(ready_timeout_s)
        yield process
    finally:
        process.stop()


@contextmanager
def local_services(classifier_args: list[str] | None = None,
                   detector_args: list[str] | None = None, quiet: bool = False,
                   classifier_port: int = 0, detector_port: int = 0,
                   recognizer_args: list[str] | None = None, recognizer_port: int | None = None):
    """Start the classifier (and, given a recognizer_port, 0 for any, the recognizer), then
    the detector wired to them; yield the detector's target and the processes, the
    detector second, the recognizer (when started) third."""
    with ExitStack() as stack:
        classifier = stack.enter_context(
            service_process("classifier", classifier_port, classifier_args, quiet=quiet))
        wiring = ["--classifier-target", f"127.0.0.1:{classifier.port}", "--recognizer-target", ""]
        recognizer = None
        if recognizer_port is not None:
            recognizer = stack.enter_context(
                service_process("recognizer", recognizer_port, recognizer_args, quiet=quiet))
            wiring[-1] = f"127.0.0.1:{recognizer.port}"
        detector = stack.enter_context(
            service_process("detector", detector_port, [*wiring, *(detector_args or [])],
                            ready_timeout_s=60, quiet=quiet))
        yield f"127.0.0.1:{detector.port}", [classifier, detector, *([recognizer] if recognizer else [])]


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory field of /proc/PID/status (VmRSS: resident now, VmHWM: peak), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    return memory_mb(pid, "VmHWM")
