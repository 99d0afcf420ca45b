"""`python -m services.gateway [--flags]`: the web gateway, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys

from services.common.logs import configure_logging
from services.common.settings import SettingsError, load_settings
from services.gateway.server import serve
from services.gateway.settings import GatewaySettings


async def _run(settings: GatewaySettings) -> None:
    runner = await serve(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(GatewaySettings, argv, prog="python -m services.gateway")
    except SettingsError as error:
        print(f"web: invalid setting: {error}", file=sys.stderr)
        return 2
    configure_logging("web", settings.log_level, capture_native=False)
    try:
        asyncio.run(_run(settings))
    except OSError as error:  # the port is taken, most likely
        print(f"web: cannot listen on {settings.host}:{settings.port}: {error.strerror} "
              "(the port setting)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
