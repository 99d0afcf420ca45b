#!/bin/sh
# First start: create the cluster (password authentication, POSTGRES_PASSWORD) and the
# `facestream` database; every start: serve on every address of the container.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password_file="$(mktemp)"
  printf '%s' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > "$password_file"
  initdb -D "$PGDATA" -U postgres --pwfile="$password_file" --auth=scram-sha-256 -E UTF8 >/dev/null
  rm -f "$password_file"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "CREATE DATABASE facestream;" | postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
