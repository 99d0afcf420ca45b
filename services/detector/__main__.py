"""`python -m services.detector [--flags]`: run the detector until SIGTERM."""

import sys

from services.common.entrypoint import run_service
from services.detector.settings import DetectorSettings


def _create_server():
    from services.detector.server import create_server  # noqa: PLC0415 - once settings are valid

    return create_server


if __name__ == "__main__":
    sys.exit(run_service("detector", DetectorSettings, _create_server))
