#!/usr/bin/env bash
# Make sure Debian's Chromium is installed (the browser tests drive it with Playwright,
# which is pointed at it: no browser download). Prints its path. Needs root to install.
set -euo pipefail

if ! command -v chromium >/dev/null; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v chromium
