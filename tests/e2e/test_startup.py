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


@pytest.mark.parametrize("service,args", [
    ("detector", ["--classifier-target", ""]),
    ("classifier", ["--runtime", "tensorflow"]),  # TensorFlow's own lines, too
])
def test_every_line_a_service_writes_is_json(service, args):
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
    assert any(r["logger"] == "native" for r in records)  # LiteRT's or TensorFlow's, wrapped


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
