"""`python -m services.detector [--flags]`: run the detector until SIGTERM."""

from __future__ import annotations

import sys

from services.common.logs import configure_logging
from services.common.serving import wait_for_stop_signal
from services.common.settings import SettingsError, load_settings
from services.detector.settings import DetectorSettings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(DetectorSettings, argv, prog="python -m services.detector")
    except SettingsError as error:
        print(f"detector: invalid setting: {error}", file=sys.stderr)
        return 2
    configure_logging("detector", settings.log_level)
    from services.detector.server import create_server  # noqa: PLC0415

    running = create_server(settings)
    wait_for_stop_signal()
    running.stop(settings.grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
