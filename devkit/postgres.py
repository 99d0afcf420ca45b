"""A throwaway PostgreSQL server on a loopback port, from Debian's package (installed by
deploy/ensure-postgresql.sh when missing): for the shared-gallery tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from devkit import ROOT
from devkit.processes import unused_port


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the package's `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(database: str = "facestream"):
    """Start a fresh server (trust authentication, loopback only); yield its URL."""
    bin_dir = Path(subprocess.run([str(ROOT / "deploy/ensure-postgresql.sh")], check=True,
                                  capture_output=True, text=True).stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="facestream-pg-"))
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    data, port = work / "data", unused_port()
    run = lambda *args: subprocess.run(_as_server_user([str(a) for a in args]), check=True,  # noqa: E731
                                       capture_output=True, text=True)
    run(bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(bin_dir / "pg_ctl", "-D", data, "-l", work / "server.log", "-w", "-o",
        f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
    try:
        deadline = time.monotonic() + 30
        while True:
            created = subprocess.run(_as_server_user(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                 database]), capture_output=True, text=True)
            if created.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {created.stderr}")
            time.sleep(0.3)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                        "-w", "stop"]), capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
