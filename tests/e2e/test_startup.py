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
