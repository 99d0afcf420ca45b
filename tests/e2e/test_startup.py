"""Starting a service with a bad setting stops it at once, naming the setting and value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("service,args,env,message", [
    ("detector", ["--port", "99999"], {}, "--port / FACESTREAM_PORT = 99999: must be 0..65535"),
    ("detector", [], {"FACESTREAM_BACKEND": "dlib"},
     "FACESTREAM_BACKEND='dlib': must be one of auto, frontal, short_range, full_range, centerface, haar"),
    ("classifier", ["--model", "nope.hdf5"], {}, "'nope.hdf5': no such file"),
    ("classifier", ["--tls-cert", "a.pem"], {}, "tls_cert and tls_key go together"),
])
def test_bad_settings_stop_the_service_with_the_value_named(service, args, env, message):
    result = subprocess.run([sys.executable, "-m", f"services.{service}", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize("service", ["detector", "classifier"])
def test_a_port_in_use_is_one_line_naming_the_setting(service):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", f"services.{service}", "--port", str(port)],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "cannot listen" in line]
    assert len(lines) == 1, result.stderr[-2000:]
    assert f"127.0.0.1:{port}" in lines[0] and "FACESTREAM_PORT" in lines[0]


@pytest.mark.parametrize("service,args,always_native", [
    ("detector", ["--classifier-target", ""], True),  # LiteRT names its delegate every start
    # TensorFlow's own lines, when it writes any: whether it does depends on the CPU it finds.
    ("classifier", ["--runtime", "tensorflow"], False),
])
def test_every_line_a_service_writes_is_json(service, args, always_native):
    import json
    import signal

    from devkit.processes import wait_serving

    process = subprocess.Popen([sys.executable, "-m", f"services.{service}", "--port", "0", *args],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in process.stderr:
            lines.append(line)
            record = json.loads(line)
            if record.get("msg") == "serving":
                wait_serving(f"127.0.0.1:{record['port']}", process, 60)
                break
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    lines += rest.splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # raises on any other line
    if always_native:
        assert any(r["logger"] == "native" for r in records)  # LiteRT's, wrapped


def test_serve_with_a_port_taken_names_it_and_exits_non_zero():
    import socket

    from devkit.processes import unused_port

    ports = {name: unused_port() for name in ("detector", "classifier", "recognizer", "web")}
    with socket.socket() as holder:  # another `make serve`, say
        holder.bind(("127.0.0.1", ports["classifier"]))
        holder.listen()
        done = subprocess.run(
            [sys.executable, "-m", "tools.local_services", "serve",
             *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port)))],
            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    assert f"port {ports['classifier']} (classifier: make serve CLASSIFIER_PORT=...)" in done.stderr
    assert "serving:" not in done.stdout


def _start_serve_in_background(ports: dict[str, int]) -> subprocess.Popen:
    """`make serve &` as a script starts it: its own process group, SIGINT ignored."""
    import signal

    return subprocess.Popen(
        ["make", "--no-print-directory", "serve",
         *(f"{name.upper()}_PORT={port}" for name, port in ports.items())],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def _connect_right_after_the_serving_line(process: subprocess.Popen, ports: dict[str, int]):
    """Read stdout until "serving:", then connect to every port at once: none may refuse.
    Returns the connections, left open."""
    import socket

    for line in process.stdout:
        if line.startswith("serving:"):
            break
    else:
        raise AssertionError(f"no serving line; stderr: {process.stderr.read()[-3000:]}")
    connections = [socket.create_connection(("127.0.0.1", port), timeout=5)
                   for port in ports.values()]
    # A live HTTP exchange with the page's gateway, so its side holds a connection to close.
    connections[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert connections[-1].recv(64).startswith(b"HTTP/1.1")
    return connections


def test_serve_says_serving_only_when_it_serves_and_stops_cleanly_on_sigint_even_in_the_background():
    """The serving line comes after every port accepts; SIGINT to a background `make serve`
    exits 0; a new one starts at once on the same ports (their sockets in TIME_WAIT)."""
    import os
    import signal

    from devkit.processes import unused_port

    ports = {name: unused_port() for name in ("detector", "classifier", "recognizer", "web")}
    for round_ in range(2):
        process = _start_serve_in_background(ports)
        try:
            connections = _connect_right_after_the_serving_line(process, ports)
            os.killpg(process.pid, signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for connection in connections:
            connection.close()
        assert process.returncode == 0, f"round {round_}: {stderr[-3000:]}"
        assert "SIGINT received" in stderr and "make: ***" not in stderr
