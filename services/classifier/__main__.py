"""`python -m services.classifier [--flags]`: run the classifier until SIGTERM."""

import sys

from services.classifier.settings import ClassifierSettings
from services.common.entrypoint import run_service


def _create_server():
    from services.classifier.server import create_server  # noqa: PLC0415 - once settings are valid

    return create_server


if __name__ == "__main__":
    sys.exit(run_service("classifier", ClassifierSettings, _create_server))
