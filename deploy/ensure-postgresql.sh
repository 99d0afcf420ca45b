#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server is installed (the recognizer's shared-gallery tests
# start a throwaway server from it on a loopback port). Prints the folder of its programs
# (initdb, pg_ctl, postgres). Needs root to install.
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(find_bin)" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin="$(find_bin)"
[ -x "$bin/initdb" ] || { echo "no initdb after installing postgresql" >&2; exit 1; }
echo "$bin"
