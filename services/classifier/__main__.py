"""`python -m services.classifier [--flags]`: run the classifier until SIGTERM."""

from __future__ import annotations

import sys

from services.classifier.settings import ClassifierSettings
from services.common.logs import configure_logging
from services.common.serving import wait_for_stop_signal
from services.common.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(ClassifierSettings, argv, prog="python -m services.classifier")
    except SettingsError as error:
        print(f"classifier: invalid setting: {error}", file=sys.stderr)
        return 2
    configure_logging("classifier", settings.log_level)
    from services.classifier.server import create_server  # noqa: PLC0415 - after settings check

    running = create_server(settings)
    wait_for_stop_signal()
    running.stop(settings.grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
