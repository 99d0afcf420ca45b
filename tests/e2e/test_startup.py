"""Starting a service with a bad setting stops it at once, naming the setting and value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("service,args,env,message", [
    ("detector", ["--port", "99999"], {}, "--port / FACESTREAM_PORT = 99999: must be 0..65535"),
    ("detector", [], {"FACESTREAM_BACKEND": "dlib"}, "FACESTREAM_BACKEND='dlib': must be one of auto, short_range, full_range, haar"),
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
