#!/bin/bash
# The replica's first start copies the primary (pg_basebackup -R writes standby.signal and the
# connection to stream from), as test/scale does; later starts resume streaming.
set -euo pipefail
export PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -U postgres -q; do sleep 1; done
  pg_basebackup -h postgres -U postgres -D "$PGDATA" -R -X stream -c fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
