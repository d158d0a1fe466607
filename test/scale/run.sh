#!/usr/bin/env bash
# npm run test:scale [-- --quick]: installs what the scale-out test needs from Debian's packages
# (Redis, HAProxy, PostgreSQL 15 with pg_basebackup), builds the app and runs test/scale.
# --quick (CI): smaller loads and shorter measurements, the same failures.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || need+=(redis-server redis-tools)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
[ -x /usr/lib/postgresql/15/bin/pg_basebackup ] && [ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

for arg in "$@"; do
  case "$arg" in
    --quick) export AFX_SCALE_QUICK=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

if [ -z "${AFX_SCALE_SKIP_BUILD:-}" ]; then npm run build >/dev/null && npm run build:dev >/dev/null; fi
exec npx jest --config test/scale/jest.config.js
