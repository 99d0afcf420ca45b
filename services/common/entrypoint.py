"""What `python -m services.<name>` does: settings, logs, serve until SIGTERM, drain."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

from services.common.logs import configure_logging
from services.common.serving import CannotListen, wait_for_stop_signal
from services.common.settings import SettingsError, load_settings


def run_service(name: str, settings_class: type, load_create_server: Callable[[], Callable],
                argv: Sequence[str] | None = None) -> int:
    """`load_create_server` imports the server lazily, so a bad setting is reported before
    heavy imports (TensorFlow) happen."""
    try:
        settings = load_settings(settings_class, argv, prog=f"python -m services.{name}")
    except SettingsError as error:
        print(f"{name}: invalid setting: {error}", file=sys.stderr)
        return 2
    configure_logging(name, settings.log_level)
    try:
        running = load_create_server()(settings)
    except CannotListen as error:
        logging.getLogger(f"services.{name}").error(str(error))  # one line, no traceback
        return 2
    wait_for_stop_signal()
    running.stop(settings.grace_s)
    return 0
