"""`python -m services.recognizer [--flags]`: run the recognizer until SIGTERM."""

import sys

from services.common.entrypoint import run_service
from services.recognizer.settings import RecognizerSettings


def _create_server():
    from services.recognizer.server import create_server  # noqa: PLC0415 - once settings are valid

    return create_server


if __name__ == "__main__":
    sys.exit(run_service("recognizer", RecognizerSettings, _create_server))
